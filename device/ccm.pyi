from collections.abc import Callable

BLOCK: int

def seal(
    encrypt_block: Callable[[bytes], bytes], nonce: bytes, plaintext: bytes, tag_len: int = 4
) -> bytes: ...
def unseal(encrypt_block: Callable[[bytes], bytes], nonce: bytes, data: bytes, tag_len: int = 4) -> bytes: ...
