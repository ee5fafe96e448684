from typing import Protocol

SLOTS: tuple[str, str]
REASONS: tuple[str, ...]

class Storage(Protocol):
    def read(self, name: str) -> bytes | None: ...
    def write(self, name: str, data: bytes) -> None: ...

class State:
    seq: int
    key: bytes | None
    adv_counter: int
    packet_id: int
    cmd_counter: int
    rejected: dict[str, int]
    kept: list[list[int]]
    dropped: int
    def __init__(self, storage: Storage) -> None: ...
    def save(self) -> None: ...
    def rejected_total(self) -> int: ...
