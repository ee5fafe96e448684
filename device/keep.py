# Touches the button made that no hub has acknowledged yet: kept in flash, re-sent when a hub
# hears the button again, dropped once the hub says it has them.
#
# Every touch is kept as [counter, gesture, age_ms] (its BTHome counter, its button event, how
# long ago it was made). The list lives in the state record (device/state.py: the same two-slot
# write that makes the counter durable before it goes on the air, so keeping a touch costs no
# extra flash write). It holds at most MAX_KEPT touches: the oldest are kept, and a touch made
# beyond the bound is counted in `dropped` (reported to the hub, never silent).
#
# The button has no wall clock, so it keeps ages, not times. An age counts the ticks the
# firmware ran since the touch (rebased into the record at every save, so a reboot loses no
# more than the time it was off); a wearable's timer wake adds the deep sleep it just slept
# (the period, device/sleep.py). A power-off or a touch wake adds nothing: the age is then a
# lower bound, and the hub's "made at" can only be later than the truth, never earlier. The hub
# computes "made at" = the time it heard the kept list minus the age.
#
# Ordering: touches are counted 1, 2, 3, ... (only a touch takes a BTHome counter), so a hub that
# hears counter N after M < N - 1 knows it missed M+1 .. N-1; it then takes nothing from the
# advert and reads the kept list instead, oldest first. So a hub's last accepted counter always
# means "I have every touch up to this one", and one acknowledgement (OP_ACK, device/command.py)
# covers them all. A touch beyond the bound is not advertised at all (it takes no counter).
#
# Over the air: the idle advert carries the number kept (0 = nothing, no marker). A touch heard
# in range stays kept too (the button cannot know a hub heard it) and costs no connection: a
# hub acknowledges it when it connects anyway (after a feedback command), when the count reaches
# ACK_AT, or when the count is more than the touches it heard and has not acknowledged (touches
# made away). It then connects, writes OP_ACK with the last counter it has, and reads the kept
# characteristic (device/gatt.py KEPT_UUID), sealed with the button key under the nonce of that
# very command (the hub's fresh counter: a nonce is never used twice):
#   version u8 (=1) | answered command counter u32le | sealed(dropped u8 | n u8 |
#   n * (counter u32le | gesture u8 | age s u32le)) | mic (4)
# Written in the MicroPython subset and imports no board module: the hub imports it on CPython.
try:
    from micropython import const
except ImportError:  # CPython (the hub, the tests)

    def const(value):
        return value


from device import bthome, ccm, gatt

MAX_KEPT = const(16)
# A hub acknowledges touches it heard in range lazily, in batches: at the latest when the kept
# count reaches ACK_AT (half the bound), so at least MAX_KEPT - ACK_AT + 1 places are always
# free for touches made away (no hub acknowledges those until it hears the button again).
ACK_AT = const(8)
MAX_DROPPED = const(255)  # reported as one byte; the hub acknowledges what it counted
VERSION = const(1)
NONCE_TAG = b"HK"
TAG_LEN = const(4)
HEADER_LEN = const(5)
ENTRY_LEN = const(9)
MAX_LEN = const(5 + 2 + 16 * 9 + 4)  # the characteristic's buffer: a full list
# The idle advert's marker: the 128-bit Heartline service data. A wearable's listen record
# (device/sleep.py: version 1, period) gains a fourth byte; a puck, which has no listen record,
# advertises record version 2: the count alone.
AD_SERVICE_DATA_128 = const(0x21)
MARKER_VERSION = const(2)


def nonce(mac, counter):
    """The 13-byte CCM nonce of a kept list answering command `counter`."""
    return bytes(mac) + NONCE_TAG + bytes((VERSION,)) + counter.to_bytes(4, "little")


def plaintext(kept, dropped):
    """dropped u8 | n u8 | entries, each [counter, gesture, age_ms]; ages sent in seconds."""
    out = bytearray((min(dropped, MAX_DROPPED), len(kept)))
    for counter, gesture, age_ms in kept:
        out += counter.to_bytes(4, "little")
        out.append(gesture)
        out += (age_ms // 1000).to_bytes(4, "little")
    return bytes(out)


def seal(encrypt_block, mac, answered, clear):
    """The kept characteristic's value for the plaintext from plaintext()."""
    sealed = ccm.seal(encrypt_block, nonce(mac, answered), clear, TAG_LEN)
    return bytes((VERSION,)) + answered.to_bytes(4, "little") + sealed


def unseal(encrypt_block, mac, value):
    """(answered counter, dropped, [(counter, gesture, age_s), ...]); ValueError if the value
    is malformed or its MIC does not verify."""
    if len(value) < HEADER_LEN + 2 + TAG_LEN or value[0] != VERSION:
        raise ValueError("not a kept list")
    answered = int.from_bytes(value[1:HEADER_LEN], "little")
    clear = ccm.unseal(encrypt_block, nonce(mac, answered), value[HEADER_LEN:], TAG_LEN)
    dropped = clear[0]
    n = clear[1]
    if len(clear) != 2 + n * ENTRY_LEN or n > MAX_KEPT:
        raise ValueError("kept list length does not match its count")
    entries = []
    for i in range(n):
        at = 2 + i * ENTRY_LEN
        counter = int.from_bytes(clear[at : at + 4], "little")
        age_s = int.from_bytes(clear[at + 5 : at + 9], "little")
        entries.append((counter, clear[at + 4], age_s))
    return answered, dropped, entries


def marker_advert(idle_data, count):
    """The idle advert with the number of kept touches (idle_data itself when none)."""
    if count <= 0:
        return idle_data
    base = bthome.idle_advert()
    if len(idle_data) > len(base):  # a wearable's listen advert: its record gains the count
        body = idle_data[len(base) + 2 :]
        return base + bthome.ad_structure(AD_SERVICE_DATA_128, body + bytes((min(count, 255),)))
    uuid = bytes(reversed(bytes.fromhex(gatt.SERVICE_UUID.replace("-", ""))))
    body = uuid + bytes((MARKER_VERSION, min(count, 255)))
    return base + bthome.ad_structure(AD_SERVICE_DATA_128, body)


def marker_count(data):
    """Touches kept, from the Heartline service data of an idle or listen advert (0: none)."""
    if len(data) == 2 and data[0] == MARKER_VERSION:
        return data[1]
    if len(data) >= 4 and data[0] == 1:  # device/sleep.py LISTEN_VERSION
        return data[3]
    return 0
