# AES-CCM (NIST SP 800-38C / RFC 3610) over a 16-byte block-encrypt callable.
# Only what Heartline needs: no associated data, any tag length 4..16, nonce 7..13 bytes.
# On a board the block callable is cryptolib.aes(key, 1).encrypt; on CPython any AES-ECB.
# Pure and allocation-light: imports nothing from the board.

BLOCK = 16


def _xor(a, b):
    return bytes(a[i] ^ b[i] for i in range(len(a)))


def _check(nonce, tag_len):
    if not 7 <= len(nonce) <= 13:
        raise ValueError("CCM nonce must be 7..13 bytes")
    if tag_len < 4 or tag_len > 16 or tag_len % 2:
        raise ValueError("CCM tag length must be even, 4..16")
    return 15 - len(nonce)


def _mac(encrypt_block, nonce, message, tag_len, size_len):
    # B0: flags | nonce | message length (big endian, size_len bytes); no Adata bit.
    flags = ((tag_len - 2) // 2) * 8 + (size_len - 1)
    block = bytes((flags,)) + nonce + len(message).to_bytes(size_len, "big")
    x = encrypt_block(block)
    for start in range(0, len(message), BLOCK):
        chunk = message[start : start + BLOCK]
        if len(chunk) < BLOCK:
            chunk = chunk + bytes(BLOCK - len(chunk))
        x = encrypt_block(_xor(x, chunk))
    return x[:tag_len]


def _ctr(encrypt_block, nonce, size_len, index):
    return encrypt_block(bytes((size_len - 1,)) + nonce + index.to_bytes(size_len, "big"))


def _crypt(encrypt_block, nonce, data, size_len):
    out = bytearray(len(data))
    for start in range(0, len(data), BLOCK):
        stream = _ctr(encrypt_block, nonce, size_len, start // BLOCK + 1)
        for i in range(start, min(start + BLOCK, len(data))):
            out[i] = data[i] ^ stream[i - start]
    return bytes(out)


def seal(encrypt_block, nonce, plaintext, tag_len=4):
    """Encrypt and authenticate: returns ciphertext followed by the tag."""
    size_len = _check(nonce, tag_len)
    tag = _mac(encrypt_block, nonce, plaintext, tag_len, size_len)
    s0 = _ctr(encrypt_block, nonce, size_len, 0)
    return _crypt(encrypt_block, nonce, plaintext, size_len) + _xor(tag, s0[:tag_len])


def unseal(encrypt_block, nonce, data, tag_len=4):
    """Verify and decrypt ciphertext+tag; raises ValueError if the tag does not match."""
    size_len = _check(nonce, tag_len)
    if len(data) < tag_len:
        raise ValueError("CCM input shorter than its tag")
    cut = len(data) - tag_len
    plaintext = _crypt(encrypt_block, nonce, data[:cut], size_len)
    s0 = _ctr(encrypt_block, nonce, size_len, 0)
    expected = _xor(_mac(encrypt_block, nonce, plaintext, tag_len, size_len), s0[:tag_len])
    diff = 0
    for i in range(tag_len):  # constant time: never stop at the first differing byte
        diff |= expected[i] ^ data[cut + i]
    if diff:
        raise ValueError("CCM tag mismatch")
    return plaintext
