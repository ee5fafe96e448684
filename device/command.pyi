from collections.abc import Callable, Sequence
from typing import Any

EncryptBlock = Callable[[bytes], bytes]
Rgb = tuple[int, int, int]

VERSION: int
OP_FEEDBACK: int
OP_LISTEN: int
OP_ACK: int
TAG_LEN: int
HEADER_LEN: int
PLAINTEXT_LEN: int
FRAME_LEN: int
COUNTER_MAX: int
NONCE_TAG: bytes
LISTEN_MIN_S: int
LISTEN_MAX_S: int
PATTERN_THINKING_OF_YOU: int
PATTERN_CELEBRATE: int
PATTERN_NEED_YOU: int
PATTERN_FELT_IT: int
PATTERN_SHARED_MOMENT: int
PATTERN_ARRIVED: int
PATTERN_NAMES: tuple[str, ...]
REASON_MALFORMED: str
REASON_BAD_MIC: str
REASON_UNSUPPORTED: str

class CommandError(ValueError):
    reason: str
    def __init__(self, reason: str, message: str) -> None: ...

def mac_bytes(address: str) -> bytes: ...
def nonce(mac: bytes, counter: int, version: int = ...) -> bytes: ...
def pattern_name(pattern: int) -> str: ...
def pattern_number(name: str) -> int: ...
def pack_plaintext(pattern: int, rgb: Sequence[int], deciseconds: int) -> bytes: ...
def unpack_plaintext(data: bytes) -> tuple[int, Rgb, int]: ...
def pack_listen_plaintext(period_s: int) -> bytes: ...
def unpack_command_plaintext(data: bytes) -> tuple[int, tuple[Any, ...]]: ...
def seal(encrypt_block: EncryptBlock, mac: bytes, counter: int, plaintext: bytes) -> bytes: ...
def pack_feedback(
    encrypt_block: EncryptBlock,
    mac: bytes,
    counter: int,
    pattern: int,
    rgb: Sequence[int],
    deciseconds: int,
) -> bytes: ...
def pack_listen(encrypt_block: EncryptBlock, mac: bytes, counter: int, period_s: int) -> bytes: ...
def pack_ack_plaintext(heard: int, dropped: int) -> bytes: ...
def pack_ack(encrypt_block: EncryptBlock, mac: bytes, counter: int, heard: int, dropped: int) -> bytes: ...
def frame_counter(frame: bytes) -> int: ...
def unpack_feedback(encrypt_block: EncryptBlock, mac: bytes, frame: bytes) -> tuple[int, int, Rgb, int]: ...
def unpack_command(
    encrypt_block: EncryptBlock, mac: bytes, frame: bytes
) -> tuple[int, int, tuple[Any, ...]]: ...
