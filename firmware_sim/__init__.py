"""Heartline's simulator: the button firmware on a host, a simulated radio, and bleak over it."""
