# The one codec for Heartline's authenticated commands (hub -> button GATT write).
#
#   frame     = version u8 (=1) | counter u32le | ciphertext | mic (4)
#   nonce     = mac (6, display order AA..FF) | b"HL" | version u8 | counter u32le   (13 bytes)
#   plaintext = op u8 | 5 bytes, by op:
#     0x01 feedback  pattern u8 (1-5, 9) | r u8 | g u8 | b u8 | deciseconds u8
#     0x02 listen    period_s u16le | 0 | 0 | 0    (a wearable's listen period, device/sleep.py)
#     0x03 ack       heard u32le | dropped u8      (the hub has every touch up to counter
#                    `heard` and counted `dropped` of those lost beyond the bound; the button
#                    forgets them and publishes what it still keeps, device/keep.py)
#
# Every op shares the frame, the counter and its replay protection: one counter per button.
# AES-CCM, 4-byte tag, no associated data. "HL" keeps this nonce space disjoint from BTHome's
# (mac | d2 fc | device-info | counter), so one per-button key serves both directions.
# Written in the MicroPython subset and imports no board module: the hub imports it on CPython.
try:
    from micropython import const
except ImportError:  # CPython (the hub, the tests)

    def const(value):
        return value


from device import ccm

VERSION = const(1)
OP_FEEDBACK = const(0x01)
OP_LISTEN = const(0x02)
OP_ACK = const(0x03)
TAG_LEN = const(4)
HEADER_LEN = const(5)  # version + counter
PLAINTEXT_LEN = const(6)
FRAME_LEN = const(15)  # header 5 + plaintext 6 + tag 4
COUNTER_MAX = const(0xFFFFFFFF)
NONCE_TAG = b"HL"
# The listen periods a wearable accepts (device/sleep.py MIN_PERIOD_S..MAX_PERIOD_S).
LISTEN_MIN_S = const(10)
LISTEN_MAX_S = const(3600)

PATTERN_THINKING_OF_YOU = const(1)
PATTERN_CELEBRATE = const(2)
PATTERN_NEED_YOU = const(3)
PATTERN_FELT_IT = const(4)
PATTERN_SHARED_MOMENT = const(5)
PATTERN_ARRIVED = const(9)  # a soft glow, no motor: "your touch arrived"
# Index = pattern number; 0 is not a pattern, nor are 6-8 (the firmware's own cues,
# device/haptic.py, never commanded).
PATTERN_NAMES = (
    "",
    "thinking_of_you",
    "celebrate",
    "need_you",
    "felt_it",
    "shared_moment",
    "",
    "",
    "",
    "arrived",
)

# CommandError.reason values; the firmware counts rejections under these names.
REASON_MALFORMED = "malformed"
REASON_BAD_MIC = "bad_mic"
REASON_UNSUPPORTED = "unsupported"  # a valid command this button cannot carry out (a puck's listen)


class CommandError(ValueError):
    """A frame that is not a valid command. reason is REASON_MALFORMED or REASON_BAD_MIC."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def mac_bytes(address):
    """'AA:BB:CC:DD:EE:FF' -> 6 bytes in display order (the order the nonce uses)."""
    parts = address.split(":")
    if len(parts) != 6:
        raise ValueError("MAC address must be six ':'-separated hex bytes")
    out = bytearray(6)
    for i in range(6):
        if len(parts[i]) != 2:
            raise ValueError("MAC address must be six ':'-separated hex bytes")
        out[i] = int(parts[i], 16)
    return bytes(out)


def nonce(mac, counter, version=VERSION):
    """The 13-byte CCM nonce of a command frame."""
    if len(mac) != 6:
        raise ValueError("mac must be 6 bytes")
    if not 0 <= counter <= COUNTER_MAX:
        raise ValueError("counter must fit in 32 bits")
    return bytes(mac) + NONCE_TAG + bytes((version,)) + counter.to_bytes(4, "little")


def pattern_name(pattern):
    """Pattern number -> name; ValueError if unknown."""
    if 1 <= pattern < len(PATTERN_NAMES) and PATTERN_NAMES[pattern]:
        return PATTERN_NAMES[pattern]
    raise ValueError("unknown pattern")


def pattern_number(name):
    """Pattern name -> number; ValueError if unknown."""
    for i in range(1, len(PATTERN_NAMES)):
        if name and PATTERN_NAMES[i] == name:
            return i
    raise ValueError("unknown pattern name")


def pack_plaintext(pattern, rgb, deciseconds):
    """Feedback plaintext; ValueError on any out-of-range field."""
    pattern_name(pattern)
    if len(rgb) != 3:
        raise ValueError("rgb must have three components")
    for v in rgb:
        if not 0 <= v <= 255:
            raise ValueError("rgb components must be 0..255")
    if not 0 <= deciseconds <= 255:
        raise ValueError("deciseconds must be 0..255")
    return bytes((OP_FEEDBACK, pattern, rgb[0], rgb[1], rgb[2], deciseconds))


def unpack_plaintext(data):
    """Feedback plaintext -> (pattern, (r, g, b), deciseconds); CommandError if malformed."""
    op, fields = unpack_command_plaintext(data)
    if op != OP_FEEDBACK:
        raise CommandError(REASON_MALFORMED, "not a feedback command")
    return fields


def pack_listen_plaintext(period_s):
    """Listen-period plaintext; ValueError outside LISTEN_MIN_S..LISTEN_MAX_S."""
    if not LISTEN_MIN_S <= period_s <= LISTEN_MAX_S:
        raise ValueError("listen period must be 10..3600 s")
    return bytes((OP_LISTEN, period_s & 0xFF, period_s >> 8, 0, 0, 0))


def pack_ack_plaintext(heard, dropped):
    """Acknowledgement plaintext: every touch up to counter `heard`, `dropped` lost ones counted."""
    if not 0 <= heard <= COUNTER_MAX:
        raise ValueError("heard counter must fit in 32 bits")
    if not 0 <= dropped <= 255:
        raise ValueError("dropped must be 0..255")
    return bytes((OP_ACK,)) + heard.to_bytes(4, "little") + bytes((dropped,))


def pack_ack(encrypt_block, mac, counter, heard, dropped):
    """Seal an acknowledgement of heard touches (the button answers with its kept list)."""
    return seal(encrypt_block, mac, counter, pack_ack_plaintext(heard, dropped))


def unpack_command_plaintext(data):
    """Any plaintext -> (op, fields); CommandError(REASON_MALFORMED) for anything unknown.

    fields: feedback (pattern, (r, g, b), deciseconds); listen (period_s,); ack (heard, dropped).
    """
    if len(data) != PLAINTEXT_LEN:
        raise CommandError(REASON_MALFORMED, "command plaintext must be 6 bytes")
    op = data[0]
    if op == OP_FEEDBACK:
        if not 1 <= data[1] < len(PATTERN_NAMES) or not PATTERN_NAMES[data[1]]:
            raise CommandError(REASON_MALFORMED, "unknown pattern")
        return op, (data[1], (data[2], data[3], data[4]), data[5])
    if op == OP_LISTEN:
        period = data[1] | (data[2] << 8)
        if data[3] or data[4] or data[5]:
            raise CommandError(REASON_MALFORMED, "listen command padding must be zero")
        if not LISTEN_MIN_S <= period <= LISTEN_MAX_S:
            raise CommandError(REASON_MALFORMED, "listen period outside 10..3600 s")
        return op, (period,)
    if op == OP_ACK:
        return op, (int.from_bytes(data[1:5], "little"), data[5])
    raise CommandError(REASON_MALFORMED, "unknown command op")


def seal(encrypt_block, mac, counter, plaintext):
    """Seal any command plaintext into the 15-byte frame the command characteristic takes."""
    sealed = ccm.seal(encrypt_block, nonce(mac, counter), plaintext, TAG_LEN)
    return bytes((VERSION,)) + counter.to_bytes(4, "little") + sealed


def pack_feedback(encrypt_block, mac, counter, pattern, rgb, deciseconds):
    """Seal a feedback command into the 15-byte frame the command characteristic takes."""
    return seal(encrypt_block, mac, counter, pack_plaintext(pattern, rgb, deciseconds))


def pack_listen(encrypt_block, mac, counter, period_s):
    """Seal a listen-period command (a wearable's new period between windows)."""
    return seal(encrypt_block, mac, counter, pack_listen_plaintext(period_s))


def frame_counter(frame):
    """The (unauthenticated) counter of a frame; CommandError if too short to have one."""
    if len(frame) < HEADER_LEN:
        raise CommandError(REASON_MALFORMED, "frame shorter than its header")
    return int.from_bytes(frame[1:HEADER_LEN], "little")


def unpack_command(encrypt_block, mac, frame):
    """Verify and open a frame of any op -> (counter, op, fields) (see unpack_command_plaintext).

    Raises CommandError only: reason REASON_MALFORMED for a wrong length, version or content,
    REASON_BAD_MIC when the tag does not verify. Replay checks are the caller's (it owns the
    last accepted counter).
    """
    if len(frame) != FRAME_LEN:
        raise CommandError(REASON_MALFORMED, "command frame must be 15 bytes")
    if frame[0] != VERSION:
        raise CommandError(REASON_MALFORMED, "unsupported command version")
    counter = frame_counter(frame)
    try:
        plaintext = ccm.unseal(encrypt_block, nonce(mac, counter), frame[HEADER_LEN:], TAG_LEN)
    except ValueError:
        raise CommandError(REASON_BAD_MIC, "command MIC does not verify")
    op, fields = unpack_command_plaintext(plaintext)
    return counter, op, fields


def unpack_feedback(encrypt_block, mac, frame):
    """Verify and open a feedback frame -> (counter, pattern, (r, g, b), deciseconds).

    CommandError as unpack_command; a valid frame of another op is REASON_MALFORMED here.
    """
    counter, op, fields = unpack_command(encrypt_block, mac, frame)
    if op != OP_FEEDBACK:
        raise CommandError(REASON_MALFORMED, "not a feedback command")
    pattern, rgb, deciseconds = fields
    return counter, pattern, rgb, deciseconds
