"""device/ccm.py agrees with the cryptography package's AES-CCM."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from hypothesis import given
from hypothesis import strategies as st

from device import ccm
from firmware_sim.shims.cryptolib import aes


@given(
    key=st.binary(min_size=16, max_size=16),
    nonce=st.binary(min_size=7, max_size=13),
    plaintext=st.binary(max_size=70),
    tag_len=st.sampled_from([4, 8, 16]),
)
def test_seal_matches_cryptography(key: bytes, nonce: bytes, plaintext: bytes, tag_len: int) -> None:
    block = aes(key, 1).encrypt
    sealed = ccm.seal(block, nonce, plaintext, tag_len)
    assert sealed == AESCCM(key, tag_length=tag_len).encrypt(nonce, plaintext, None)
    assert ccm.unseal(block, nonce, sealed, tag_len) == plaintext


@given(
    key=st.binary(min_size=16, max_size=16),
    plaintext=st.binary(max_size=40),
    flip=st.integers(min_value=0),
)
def test_any_flipped_bit_is_refused(key: bytes, plaintext: bytes, flip: int) -> None:
    block = aes(key, 1).encrypt
    nonce = bytes(13)
    sealed = bytearray(ccm.seal(block, nonce, plaintext))
    bit = flip % (len(sealed) * 8)
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ValueError, match="tag"):
        ccm.unseal(block, nonce, bytes(sealed))


def test_rejects_bad_parameters() -> None:
    block = aes(bytes(16), 1).encrypt
    with pytest.raises(ValueError, match="nonce"):
        ccm.seal(block, bytes(14), b"")
    with pytest.raises(ValueError, match="tag length"):
        ccm.seal(block, bytes(13), b"", 5)
    with pytest.raises(ValueError, match="shorter"):
        ccm.unseal(block, bytes(13), b"\x00\x01")
