"""Gentle statistics over the couple's stored history: presence and together time."""
