# The Heartline GATT service: UUIDs, registration, and the state characteristic's layout.
# Importable without board modules (the hub reads the UUIDs from here); only register()
# needs the bluetooth module.
import struct

try:
    from micropython import const
except ImportError:  # CPython without the simulator's shims

    def const(value):
        return value


SERVICE_UUID = const("f1e00001-5d6b-4c8e-9a3b-48454152544c")
COMMAND_UUID = const("f1e00002-5d6b-4c8e-9a3b-48454152544c")  # write with response
STATE_UUID = const("f1e00003-5d6b-4c8e-9a3b-48454152544c")  # read
PROVISION_UUID = const("f1e00004-5d6b-4c8e-9a3b-48454152544c")  # read, write (device/pairing.py)
KEPT_UUID = const("f1e00005-5d6b-4c8e-9a3b-48454152544c")  # read: touches kept (device/keep.py)

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)

# Low-level bluetooth.BLE irq events the firmware handles.
IRQ_CENTRAL_CONNECT = const(1)
IRQ_CENTRAL_DISCONNECT = const(2)
IRQ_GATTS_WRITE = const(3)

# ATT error codes (Core Spec Vol 3 Part F 3.4.1.1) the command characteristic answers with.
ATT_OK = const(0x00)
ATT_WRITE_NOT_PERMITTED = const(0x03)
ATT_INSUFFICIENT_AUTHENTICATION = const(0x05)  # bad MIC or replayed counter
ATT_INVALID_ATTRIBUTE_LENGTH = const(0x0D)  # malformed frame

STATE_VERSION = const(2)
# version, last accepted command counter, battery %, rejected count, then the outcome of the
# last command write the firmware handled: the counter that frame claimed (0 if it had none),
# what became of it (OUTCOME_*), and how many command writes it has handled since boot (u8,
# wrapping: a replayed frame claims a counter whose earlier outcome is still on show). The
# firmware verifies a write in a task after the stack has acknowledged it, so this is how a
# hub learns what happened to its own command.
STATE_FORMAT = "<BIBHIBB"
STATE_LEN = const(14)
OUTCOME_NONE = const(0)  # no command written since boot
OUTCOME_ACCEPTED = const(1)
# Refusals, by device.state.REASONS: OUTCOME_REFUSED + index.
OUTCOME_REFUSED = const(2)
OUTCOMES = ("none", "accepted", "malformed", "bad_mic", "replay", "unsupported")
KEY_LEN = const(16)
COMMAND_BUFFER = const(32)  # attribute buffer: twice a v1 frame, room for longer future ops
PROVISION_BUFFER = const(40)  # a 33-byte hub key write or the 34-byte status (device/pairing.py)
KEPT_BUFFER = const(160)  # a full kept list (device/keep.py MAX_LEN)


def register(ble):
    """Register the service; returns (command, state, provision, kept) value handles."""
    import bluetooth

    service = (
        bluetooth.UUID(SERVICE_UUID),
        (
            (bluetooth.UUID(COMMAND_UUID), _FLAG_WRITE),
            (bluetooth.UUID(STATE_UUID), _FLAG_READ),
            (bluetooth.UUID(PROVISION_UUID), _FLAG_READ | _FLAG_WRITE),
            (bluetooth.UUID(KEPT_UUID), _FLAG_READ),
        ),
    )
    ((command, state, provision, kept),) = ble.gatts_register_services((service,))
    ble.gatts_set_buffer(command, COMMAND_BUFFER)
    ble.gatts_set_buffer(provision, PROVISION_BUFFER)
    ble.gatts_set_buffer(kept, KEPT_BUFFER)
    return command, state, provision, kept


def state_value(cmd_counter, battery, rejected, outcome_counter=0, outcome=OUTCOME_NONE, writes=0):
    return struct.pack(
        STATE_FORMAT,
        STATE_VERSION,
        cmd_counter,
        battery,
        min(rejected, 0xFFFF),
        outcome_counter,
        outcome,
        writes & 0xFF,
    )


def outcome_code(reason):
    """OUTCOME_* for a refusal reason name (device.state.REASONS)."""
    return OUTCOMES.index(reason)
