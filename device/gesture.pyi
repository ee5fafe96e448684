from collections.abc import Callable

NONE: int
TAP: int
DOUBLE_TAP: int
LONG_PRESS: int
NAMES: dict[int, str]

class GestureRecognizer:
    phantoms: int
    def __init__(self, ticks_diff: Callable[[int, int], int] = ...) -> None: ...
    def update(self, level: int | bool, now: int) -> int: ...
    def idle(self) -> bool: ...
    def held_ms(self, now: int) -> int: ...
