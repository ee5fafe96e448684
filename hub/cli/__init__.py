"""The ``heartline`` command line: argument parsing and presentation, one module per verb group.

The work is done by the domain packages each verb calls. This package is the top of the house:
nothing else in ``hub`` imports it (tests/cli/test_layering.py holds that).
"""
