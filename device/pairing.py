# The pairing exchange: the provisioning characteristic's values, the pairing advert, and the
# key derivation. One codec, imported by the firmware and the hub (hardware/ble-spec.md).
#
#   read   version u8 (=1) | status u8 | button X25519 public key (32)        34 bytes
#   write  version u8 (=1) | hub X25519 public key (32)                       33 bytes
#   key    HKDF-SHA256(salt=SALT, ikm=X25519 shared secret,
#                      info=INFO | mac (6) | button public (32) | hub public (32), 16 bytes)
#
# HMAC is spelled out here because MicroPython ships hashlib.sha256 but no hmac module.
import hashlib

try:
    from micropython import const
except ImportError:  # CPython without the simulator's shims

    def const(value):
        return value


from device import bthome

VERSION = const(1)
PUBLIC_LEN = const(32)
READ_LEN = const(34)
WRITE_LEN = const(33)
BUFFER = const(40)  # attribute buffer: room for both values

# Provisioning status (the read value's second byte).
CLOSED = const(0)  # not in pairing mode: keyed, or the pairing window ran out
PREPARING = const(1)  # pairing mode, making the button's key pair
OPEN = const(2)  # waiting for one hub public key
DERIVING = const(3)  # took a hub key, deriving the button key
PAIRED = const(4)  # keyed by this exchange
STATUS_NAMES = ("closed", "preparing", "open", "deriving", "paired")

SALT = b"heartline pairing v1"
INFO = b"heartline button key"
KEY_LEN = const(16)

AD_COMPLETE_NAME = const(0x09)
PAIRING_NAME = b"HL-PAIR"

_BLOCK = const(64)  # SHA-256 block size, for HMAC


def status_value(status, public):
    """The provisioning characteristic's read value."""
    if public is None:
        public = bytes(PUBLIC_LEN)
    if len(public) != PUBLIC_LEN:
        raise ValueError("public key must be 32 bytes")
    return bytes((VERSION, status)) + bytes(public)


def parse_status(value):
    """Read value -> (status, button public key); ValueError if malformed."""
    if len(value) != READ_LEN or value[0] != VERSION:
        raise ValueError("provisioning value must be 34 bytes of version 1")
    if value[1] >= len(STATUS_NAMES):
        raise ValueError("unknown provisioning status")
    return value[1], bytes(value[2:])


def hub_key_value(public):
    """The hub's write: version and its public key."""
    if len(public) != PUBLIC_LEN:
        raise ValueError("public key must be 32 bytes")
    return bytes((VERSION,)) + bytes(public)


def parse_hub_key(value):
    """Write value -> the hub's public key; ValueError if malformed."""
    if len(value) != WRITE_LEN or value[0] != VERSION:
        raise ValueError("the hub's key write must be 33 bytes of version 1")
    return bytes(value[1:])


def hmac_sha256(key, message):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = bytes(key) + bytes(_BLOCK - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    inner.update(message)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.digest()


def derive_key(shared, mac, button_public, hub_public):
    """The 16-byte button key both sides derive from the X25519 shared secret (RFC 5869 HKDF)."""
    if len(shared) != PUBLIC_LEN or shared == bytes(PUBLIC_LEN):
        raise ValueError("unusable shared secret (a low-order public key)")
    prk = hmac_sha256(SALT, shared)
    info = INFO + bytes(mac) + bytes(button_public) + bytes(hub_public)
    return hmac_sha256(prk, info + b"\x01")[:KEY_LEN]  # one HKDF-Expand block covers 16 bytes


def pairing_advert():
    """Connectable advert in pairing mode: flags and the complete local name "HL-PAIR"."""
    return bthome.ad_structure(bthome.AD_FLAGS, bytes((bthome.FLAGS_LE_ONLY,))) + bthome.ad_structure(
        AD_COMPLETE_NAME, PAIRING_NAME
    )
