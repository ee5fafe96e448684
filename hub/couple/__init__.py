"""Pairing two homes: a one-time invite code carries the relay settings, the couple key and the
public half of a key for the link the first hello makes (hub.couple.link)."""
