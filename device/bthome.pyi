from collections.abc import Callable

EncryptBlock = Callable[[bytes], bytes]

UUID16: int
DEVICE_INFO: int
OBJ_PACKET_ID: int
OBJ_BATTERY: int
OBJ_BUTTON: int
EVENT_NONE: int
EVENT_PRESS: int
EVENT_DOUBLE_PRESS: int
EVENT_LONG_PRESS: int
SHORT_NAME: bytes
TAG_LEN: int
MAX_ADV_LEN: int

def nonce(mac: bytes, counter: int) -> bytes: ...
def objects(packet_id: int, battery: int, event: int) -> bytes: ...
def service_data(
    encrypt_block: EncryptBlock, mac: bytes, counter: int, packet_id: int, battery: int, event: int
) -> bytes: ...
def ad_structure(ad_type: int, payload: bytes) -> bytes: ...
def advert(
    encrypt_block: EncryptBlock, mac: bytes, counter: int, packet_id: int, battery: int, event: int
) -> bytes: ...
def gap_name(mac: bytes) -> str: ...
def scan_response(mac: bytes) -> bytes: ...
def idle_advert() -> bytes: ...

AD_FLAGS: int
AD_SHORT_NAME: int
AD_COMPLETE_NAME: int
AD_SERVICE_DATA_16: int
FLAGS_LE_ONLY: int
