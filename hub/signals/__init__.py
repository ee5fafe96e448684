"""Signals: composing one from a touch (compose), and carrying it and its fate (exchange)."""
