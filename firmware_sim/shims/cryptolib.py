"""Host shim of MicroPython's ``cryptolib`` (AES-ECB only, as the firmware uses it)."""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MODE_ECB: Final = 1  # the only mode the firmware uses; CCM is built on top in device/ccm.py
BLOCK: Final = 16


class aes:  # noqa: N801 - the board's class name
    def __init__(self, key: bytes, mode: int) -> None:
        if mode != MODE_ECB:
            raise ValueError("the cryptolib shim implements ECB (mode 1) only")
        if len(key) not in (16, 32):
            raise ValueError("AES key must be 16 or 32 bytes")
        cipher = Cipher(algorithms.AES(bytes(key)), modes.ECB())  # noqa: S305 - CCM's block function
        self._encryptor = cipher.encryptor()
        self._decryptor = cipher.decryptor()

    def encrypt(self, block: bytes) -> bytes:
        if len(block) % BLOCK:
            raise ValueError("AES-ECB input must be a multiple of 16 bytes")
        return self._encryptor.update(bytes(block))

    def decrypt(self, block: bytes) -> bytes:
        if len(block) % BLOCK:
            raise ValueError("AES-ECB input must be a multiple of 16 bytes")
        return self._decryptor.update(bytes(block))


def encrypt_block_for(key: bytes) -> aes:
    """Convenience for the host: an object whose ``encrypt`` is the CCM block function."""
    return aes(key, MODE_ECB)
