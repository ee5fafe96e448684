"""Heartline's hub: the daemon on each home's Raspberry Pi."""

__version__ = "0.1.0"
