"""Presence: who is near this hub, since when, and the sessions that make presence time.

``engine`` decides per advert (O(1)); ``batch`` decides the same over stored history (numpy);
``service`` is what the hub owns; ``params`` holds every number with its reason.
"""
