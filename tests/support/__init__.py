"""Shared test support: pytest plugins and helpers used by several suites."""
