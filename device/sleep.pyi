from typing import Any

from device.button import Button
from device.state import Storage

PUCK: str
WEARABLE: str
MODES: tuple[str, str]
MODE_FILE: str
WAKE_TIMER: int
WAKE_GPIO: int
DEEPSLEEP_RESET: int
TOUCH_WAKE_LEVEL: bool
DEFAULT_PERIOD_S: int
MIN_PERIOD_S: int
MAX_PERIOD_S: int
BOOT_MS: int
LISTEN_MS: int
LISTEN_INTERVAL_US: int
ACTIVE_MS: int
LINGER_MS: int
POLL_MS: int
AD_SERVICE_DATA_128: int
LISTEN_VERSION: int

def uuid_le(text: str) -> bytes: ...
def listen_data(period_s: int) -> bytes: ...
def listen_advert(period_s: int) -> bytes: ...
def parse_listen(data: bytes) -> int | None: ...
def read_mode(storage: Storage, default_mode: str, default_period: int = ...) -> tuple[str, int]: ...
def write_mode(storage: Storage, mode: str, period_s: int) -> None: ...

class Wearable:
    period_s: int
    windows: int
    touch_wakes: int
    woke_by_touch: bool
    def __init__(
        self,
        button: Button,
        board: Any,
        esp32: Any,
        touch: Any,
        clock: Any,
        period_s: int = ...,
    ) -> None: ...
    async def run(self) -> None: ...
    def sleep(self) -> None: ...

def max_deadline(clock: Any, a: int, b: int) -> int: ...
