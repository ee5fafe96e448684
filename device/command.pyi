from collections.abc import Callable, Sequence

EncryptBlock = Callable[[bytes], bytes]
Rgb = tuple[int, int, int]

VERSION: int
OP_FEEDBACK: int
TAG_LEN: int
HEADER_LEN: int
PLAINTEXT_LEN: int
FRAME_LEN: int
COUNTER_MAX: int
NONCE_TAG: bytes
PATTERN_THINKING_OF_YOU: int
PATTERN_CELEBRATE: int
PATTERN_NEED_YOU: int
PATTERN_FELT_IT: int
PATTERN_SHARED_MOMENT: int
PATTERN_NAMES: tuple[str, ...]
REASON_MALFORMED: str
REASON_BAD_MIC: str

class CommandError(ValueError):
    reason: str
    def __init__(self, reason: str, message: str) -> None: ...

def mac_bytes(address: str) -> bytes: ...
def nonce(mac: bytes, counter: int, version: int = ...) -> bytes: ...
def pattern_name(pattern: int) -> str: ...
def pattern_number(name: str) -> int: ...
def pack_plaintext(pattern: int, rgb: Sequence[int], deciseconds: int) -> bytes: ...
def unpack_plaintext(data: bytes) -> tuple[int, Rgb, int]: ...
def pack_feedback(
    encrypt_block: EncryptBlock,
    mac: bytes,
    counter: int,
    pattern: int,
    rgb: Sequence[int],
    deciseconds: int,
) -> bytes: ...
def frame_counter(frame: bytes) -> int: ...
def unpack_feedback(
    encrypt_block: EncryptBlock, mac: bytes, frame: bytes
) -> tuple[int, int, Rgb, int]: ...
