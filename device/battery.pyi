DIVIDER: int
CURVE: tuple[tuple[int, int], ...]
LOW_PERCENT: int
CRITICAL_PERCENT: int
NORMAL: int
LOW: int
CRITICAL: int

def percent_from_mv(mv: int) -> int: ...

HYSTERESIS_PERCENT: int
SAMPLES: int

def read_mv(adc: object, samples: int = ...) -> int: ...
def read_percent(adc: object) -> int: ...
def level(percent: int, current: int = ...) -> int: ...

class Meter:
    mv: int
    percent: int
    level: int
    def __init__(self, adc: object) -> None: ...
    def sample(self, under_load: bool = ...) -> int: ...
