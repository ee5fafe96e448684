RHYTHMS: tuple[tuple[tuple[int, int], ...], ...]
COLOURS: tuple[tuple[int, int, int], ...]

def rhythm_ms(pattern: int) -> int: ...
def colour_for(pattern: int, rgb: tuple[int, int, int]) -> tuple[int, int, int]: ...
CUE_RESET_ARMED: int
CUE_RESET: int
CUE_LOW_BATTERY: int
LOW_DIM: int
