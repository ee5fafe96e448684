"""Energy model: the firmware's actual activity x per-state currents -> battery life."""
