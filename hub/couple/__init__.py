"""Pairing two homes: a one-time invite code carries the relay settings and the couple key."""
