SERVICE_UUID: str
COMMAND_UUID: str
STATE_UUID: str
PROVISION_UUID: str
KEPT_UUID: str
IRQ_CENTRAL_CONNECT: int
IRQ_CENTRAL_DISCONNECT: int
IRQ_GATTS_WRITE: int
ATT_OK: int
ATT_WRITE_NOT_PERMITTED: int
ATT_INSUFFICIENT_AUTHENTICATION: int
ATT_INVALID_ATTRIBUTE_LENGTH: int
STATE_VERSION: int
STATE_FORMAT: str
STATE_LEN: int
OUTCOME_NONE: int
OUTCOME_ACCEPTED: int
OUTCOME_REFUSED: int
OUTCOMES: tuple[str, ...]
KEY_LEN: int
COMMAND_BUFFER: int
PROVISION_BUFFER: int
KEPT_BUFFER: int

def state_value(
    cmd_counter: int,
    battery: int,
    rejected: int,
    outcome_counter: int = ...,
    outcome: int = ...,
    writes: int = ...,
) -> bytes: ...
def outcome_code(reason: str) -> int: ...
