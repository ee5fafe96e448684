# BTHome v2 encrypted advertisement builder (https://bthome.io/format/, /encryption/).
#
#   AD flags (0x06) | short name "HL" | service data 0xFCD2:
#     device info 0x45 (v2, encrypted, trigger based: it advertises only when touched)
#     AES-CCM(objects) where objects = 0x00 packet id | 0x01 battery % | 0x3A button event
#     counter u32le | mic (4)
#   nonce = mac (6, display order) | d2 fc | device info | counter u32le
try:
    from micropython import const
except ImportError:  # CPython

    def const(value):
        return value


from device import ccm

UUID16 = const(0xFCD2)
# bits 5-7 = 2 (version), bit 2 = trigger based (events at irregular intervals: receivers treat
# the device as sleepy and do not expect regular updates), bit 0 = encrypted.
DEVICE_INFO = const(0x45)
OBJ_PACKET_ID = const(0x00)
OBJ_BATTERY = const(0x01)
OBJ_BUTTON = const(0x3A)

EVENT_NONE = const(0x00)
EVENT_PRESS = const(0x01)  # tap
EVENT_DOUBLE_PRESS = const(0x02)  # double tap
EVENT_LONG_PRESS = const(0x04)  # long press

AD_FLAGS = const(0x01)
AD_SHORT_NAME = const(0x08)
AD_COMPLETE_NAME = const(0x09)
AD_SERVICE_DATA_16 = const(0x16)
FLAGS_LE_ONLY = const(0x06)  # LE general discoverable, BR/EDR not supported
SHORT_NAME = b"HL"
TAG_LEN = const(4)
MAX_ADV_LEN = const(31)


def nonce(mac, counter):
    return bytes(mac) + b"\xd2\xfc" + bytes((DEVICE_INFO,)) + counter.to_bytes(4, "little")


def objects(packet_id, battery, event):
    return bytes((OBJ_PACKET_ID, packet_id & 0xFF, OBJ_BATTERY, battery, OBJ_BUTTON, event))


def service_data(encrypt_block, mac, counter, packet_id, battery, event):
    """The bytes after the 0xFCD2 UUID: device info, ciphertext, counter, mic."""
    sealed = ccm.seal(encrypt_block, nonce(mac, counter), objects(packet_id, battery, event), TAG_LEN)
    cut = len(sealed) - TAG_LEN
    return bytes((DEVICE_INFO,)) + sealed[:cut] + counter.to_bytes(4, "little") + sealed[cut:]


def ad_structure(ad_type, payload):
    return bytes((len(payload) + 1, ad_type)) + payload


def advert(encrypt_block, mac, counter, packet_id, battery, event):
    """Complete advertising payload (AD structures) for gap_advertise."""
    data = service_data(encrypt_block, mac, counter, packet_id, battery, event)
    out = (
        ad_structure(AD_FLAGS, bytes((FLAGS_LE_ONLY,)))
        + ad_structure(AD_SHORT_NAME, SHORT_NAME)
        + ad_structure(AD_SERVICE_DATA_16, UUID16.to_bytes(2, "little") + data)
    )
    if len(out) > MAX_ADV_LEN:
        raise ValueError("advert longer than 31 bytes")
    return out


def gap_name(mac):
    """The button's GAP name: "HL-" and the last two address bytes in hex ("HL-80A5")."""
    return "HL-%02X%02X" % (mac[4], mac[5])


def scan_response(mac):
    """Scan response of the idle and event adverts: the complete name, so a person can tell
    buttons apart in a phone's scanner (the advert itself has no room for it)."""
    return ad_structure(AD_COMPLETE_NAME, gap_name(mac).encode())


def idle_advert():
    """Connectable advert between events: flags and name only, so the hub can connect."""
    return ad_structure(AD_FLAGS, bytes((FLAGS_LE_ONLY,))) + ad_structure(AD_SHORT_NAME, SHORT_NAME)
