"""Heartline test suites."""
