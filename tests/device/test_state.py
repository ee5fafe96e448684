"""Persistent state: two slots survive a write cut short; counters survive reboots."""

from __future__ import annotations

import contextlib
from pathlib import Path

from device.flash import FileStorage
from device.state import SLOTS, State


class TornStorage:
    """In-memory storage whose next write can be cut short, as by a power loss."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.tear_next = False

    def read(self, name: str) -> bytes | None:
        return self.files.get(name)

    def write(self, name: str, data: bytes) -> None:
        if self.tear_next:
            self.tear_next = False
            self.files[name] = data[: len(data) // 2]
            raise OSError("power lost mid-write")
        self.files[name] = data


def test_fresh_state_is_unprovisioned() -> None:
    state = State(TornStorage())
    assert state.key is None
    assert (state.adv_counter, state.cmd_counter, state.rejected_total()) == (0, 0, 0)


def test_round_trip_through_files(tmp_path: Path) -> None:
    state = State(FileStorage(str(tmp_path)))
    state.key = bytes(range(16))
    state.adv_counter = 41
    state.cmd_counter = 7
    state.rejected["replay"] = 2
    state.save()
    again = State(FileStorage(str(tmp_path)))
    assert again.key == bytes(range(16))
    assert (again.adv_counter, again.cmd_counter, again.rejected["replay"]) == (41, 7, 2)


def test_torn_write_keeps_the_previous_state() -> None:
    storage = TornStorage()
    state = State(storage)
    state.adv_counter = 10
    state.save()
    state.adv_counter = 11
    state.save()
    state.adv_counter = 12
    storage.tear_next = True
    with contextlib.suppress(OSError):
        state.save()
    assert State(storage).adv_counter == 11  # never below a counter that reached the air


def test_corrupt_slot_is_ignored() -> None:
    storage = TornStorage()
    state = State(storage)
    state.cmd_counter = 5
    state.save()
    state.cmd_counter = 6
    state.save()
    newest = SLOTS[state.seq % 2]
    storage.files[newest] = storage.files[newest].replace(b'"cmd": 6', b'"cmd": 9')
    assert State(storage).cmd_counter == 5  # CRC caught the flipped bytes
