"""Benchmarks: each module is runnable as ``python -m benchmarks.<name>`` and prints a table
with its baseline measured in the same run. ``python -m benchmarks`` (``make bench``) runs all."""
