VERSION: int
PUBLIC_LEN: int
READ_LEN: int
WRITE_LEN: int
BUFFER: int
CLOSED: int
PREPARING: int
OPEN: int
DERIVING: int
PAIRED: int
STATUS_NAMES: tuple[str, ...]
SALT: bytes
INFO: bytes
KEY_LEN: int
AD_COMPLETE_NAME: int
PAIRING_NAME: bytes

def status_value(status: int, public: bytes | None) -> bytes: ...
def parse_status(value: bytes) -> tuple[int, bytes]: ...
def hub_key_value(public: bytes) -> bytes: ...
def parse_hub_key(value: bytes) -> bytes: ...
def hmac_sha256(key: bytes, message: bytes) -> bytes: ...
def derive_key(shared: bytes, mac: bytes, button_public: bytes, hub_public: bytes) -> bytes: ...
def pairing_advert() -> bytes: ...
