DIVIDER: int
CURVE: tuple[tuple[int, int], ...]
LOW_PERCENT: int
CRITICAL_PERCENT: int
NORMAL: int
LOW: int
CRITICAL: int

def percent_from_mv(mv: int) -> int: ...
def read_percent(adc: object) -> int: ...
def level(percent: int) -> int: ...
