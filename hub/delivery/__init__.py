"""Delivery: how a received signal reaches the person (their button, else their phone)."""
