from collections.abc import Callable, Sequence

EncryptBlock = Callable[[bytes], bytes]

MAX_KEPT: int
ACK_AT: int
MAX_DROPPED: int
VERSION: int
NONCE_TAG: bytes
TAG_LEN: int
HEADER_LEN: int
ENTRY_LEN: int
MAX_LEN: int
AD_SERVICE_DATA_128: int
MARKER_VERSION: int

def nonce(mac: bytes, counter: int) -> bytes: ...
def plaintext(kept: Sequence[Sequence[int]], dropped: int) -> bytes: ...
def seal(encrypt_block: EncryptBlock, mac: bytes, answered: int, clear: bytes) -> bytes: ...
def unseal(
    encrypt_block: EncryptBlock, mac: bytes, value: bytes
) -> tuple[int, int, list[tuple[int, int, int]]]: ...
def marker_advert(idle_data: bytes, count: int) -> bytes: ...
def marker_count(data: bytes) -> int: ...
