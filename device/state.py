# The button's persistent state: key, counters, rejection counts, the touches no hub has
# acknowledged yet (device/keep.py: [counter, gesture, age ms] each, and how many were dropped).
#
# Two slots written alternately, each "JSON line\nCRC32 hex". Loading takes the valid slot
# with the higher sequence number, so a write cut short by power loss leaves the previous
# state intact. The firmware saves *before* it advertises a counter or acts on a command, so
# the surviving state never holds a counter lower than one that went on the air.
import binascii
import json

SLOTS = ("state.a", "state.b")
REASONS = ("malformed", "bad_mic", "replay", "unsupported")


def _encode(record):
    text = json.dumps(record)
    return (text + "\n" + "%08x" % (binascii.crc32(text.encode()) & 0xFFFFFFFF)).encode()


def _decode(blob):
    if not blob:
        return None
    try:
        text, crc = blob.decode().split("\n")
        if int(crc, 16) != binascii.crc32(text.encode()) & 0xFFFFFFFF:
            return None
        record = json.loads(text)
    except (ValueError, UnicodeError):
        return None
    if not isinstance(record, dict) or "seq" not in record:
        return None
    return record


class State:
    def __init__(self, storage):
        self._storage = storage
        self.seq = 0
        self.key = None  # 16 bytes once provisioned
        self.adv_counter = 0  # last BTHome counter put on the air
        self.packet_id = 0  # last BTHome packet id put on the air
        self.cmd_counter = 0  # last accepted command counter
        self.rejected = {}
        for reason in REASONS:
            self.rejected[reason] = 0
        self.kept = []  # [counter, gesture, age_ms], oldest first (device/keep.py)
        self.dropped = 0  # touches made beyond the bound since the hub last counted them
        self._load()

    def _load(self):
        best = None
        for name in SLOTS:
            record = _decode(self._storage.read(name))
            if record is not None and (best is None or record["seq"] > best["seq"]):
                best = record
        if best is None:
            return
        self.seq = best["seq"]
        key = best.get("key")
        self.key = binascii.unhexlify(key) if key else None
        self.adv_counter = best.get("adv", 0)
        self.packet_id = best.get("pid", 0)
        self.cmd_counter = best.get("cmd", 0)
        rejected = best.get("rej", {})
        for reason in REASONS:
            self.rejected[reason] = rejected.get(reason, 0)
        kept = best.get("kept", [])
        self.kept = [[int(e[0]), int(e[1]), int(e[2])] for e in kept if len(e) == 3]
        self.dropped = best.get("drop", 0)

    def save(self):
        self.seq += 1
        record = {
            "seq": self.seq,
            "key": binascii.hexlify(self.key).decode() if self.key else "",
            "adv": self.adv_counter,
            "pid": self.packet_id,
            "cmd": self.cmd_counter,
            "rej": self.rejected,
            "kept": self.kept,
            "drop": self.dropped,
        }
        self._storage.write(SLOTS[self.seq % 2], _encode(record))

    def rejected_total(self):
        total = 0
        for reason in REASONS:
            total += self.rejected[reason]
        return total
