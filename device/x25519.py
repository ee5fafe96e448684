# X25519 (RFC 7748) in plain Python integers, for the pairing key exchange.
#
# MicroPython has arbitrary-precision ints but no elliptic-curve module, so the button does the
# Montgomery ladder itself: 255 steps of a few 255-bit multiplications, about 1-2 s on an
# ESP32-C3 and milliseconds on a PC. It runs once per pairing, never on a hot path.
#
# Not constant-time (big-int arithmetic never is). The private scalar is ephemeral: made when
# pairing mode opens, used for one exchange, then dropped, so a timing side channel would have
# to be measured during that one exchange by someone holding the board (hardware/ble-spec.md).
P = (1 << 255) - 19
_A24 = 121665  # (486662 - 2) / 4, the curve constant of the ladder (RFC 7748 section 5)
BASE = b"\x09" + bytes(31)  # u = 9, the base point
KEY_LEN = 32


def clamp(scalar):
    """A 32-byte private scalar as RFC 7748 decodes it (low 3 bits and top bit cleared, bit 254 set)."""
    if len(scalar) != KEY_LEN:
        raise ValueError("X25519 scalars are 32 bytes")
    b = bytearray(scalar)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return int.from_bytes(bytes(b), "little")


def _decode_u(u):
    if len(u) != KEY_LEN:
        raise ValueError("X25519 public keys are 32 bytes")
    b = bytearray(u)
    b[31] &= 127  # RFC 7748: implementations must mask the top bit
    return int.from_bytes(bytes(b), "little") % P


def scalarmult(scalar, u):
    """X25519(scalar, u) -> 32 bytes (little-endian u-coordinate)."""
    k = clamp(scalar)
    x1 = _decode_u(u)
    x2, z2, x3, z3 = 1, 0, x1, 1
    swap = 0
    for t in range(254, -1, -1):
        bit = (k >> t) & 1
        if swap ^ bit:
            x2, x3 = x3, x2
            z2, z3 = z3, z2
        swap = bit
        a = (x2 + z2) % P
        aa = a * a % P
        b = (x2 - z2) % P
        bb = b * b % P
        e = (aa - bb) % P
        c = (x3 + z3) % P
        d = (x3 - z3) % P
        da = d * a % P
        cb = c * b % P
        s = (da + cb) % P
        x3 = s * s % P
        s = (da - cb) % P
        z3 = x1 * (s * s % P) % P
        x2 = aa * bb % P
        z2 = e * ((aa + _A24 * e) % P) % P
    if swap:
        x2, x3 = x3, x2
        z2, z3 = z3, z2
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(KEY_LEN, "little")


def public_key(scalar):
    """The public key (u-coordinate) of a 32-byte private scalar."""
    return scalarmult(scalar, BASE)
