"""Per-state currents x durations from a device's logged activity -> battery-life estimate.

Every current is a ``Final`` below with the source it comes from; hardware/power-budget.md
lists the same figures with datasheet section/table references and says which ones are
assumptions still to be measured on the reference board. Activity comes from the simulated
firmware itself (``SimButton``): advertising spans (interval, payload) from the bluetooth
shim, connection time, motor PWM and LED writes, and CPU wake-ups of the firmware's clock.

Power profiles, because idle dominates:

* ``stock always-on``: stock MicroPython on the ESP32-C3 has no automatic light sleep
  (ports/esp32/modmachine.c configures power management with ``light_sleep_enable = false``),
  so between events the chip sits in modem-sleep with the CPU idling. The puck's mode.
* ``stock deep-sleep``: the wearable's mode (``device/sleep.py``) on the same stock image: deep
  sleep at the XIAO board's measured current between listen windows, the chip awake (modem
  sleep, as always-on) from each wake to the next deep sleep, plus the CPU running flat out
  for each boot. Only for a device the simulator ran in that mode: the awake spans are the
  firmware's own.
* ``auto-light-sleep``: ESP-IDF power management with BLE modem sleep; **not reachable with a
  stock image** (it needs a custom build with CONFIG_PM light sleep and tickless idle, and
  MicroPython's own loop waking every FreeRTOS tick). Kept for comparison only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from firmware_sim.shims.bluetooth import RadioActivity

# --- ESP32-C3 (Espressif "ESP32-C3 Series Datasheet", section "Current Consumption") -------
ESP32C3_RX_MA: Final = 84.0  # RX current, table "Current Consumption Depending on RF Modes"
# The datasheet gives TX current for Wi-Fi rows only (e.g. 802.11b @ 21 dBm 335 mA); for BLE
# at our -4..0 dBm an assumption of 100 mA is used, to be measured on the reference board.
ESP32C3_BLE_TX_MA: Final = 100.0
ESP32C3_MODEM_SLEEP_MA: Final = 20.0  # CPU at 160 MHz idling, RF off: "Modem-sleep" table
ESP32C3_LIGHT_SLEEP_UA: Final = 130.0  # "Current Consumption in Low-Power Modes": Light-sleep
ESP32C3_DEEP_SLEEP_UA: Final = 5.0  # same table: Deep-sleep, RTC timer + RTC memory (chip only)
# CPU running at 160 MHz with peripherals clocked: v1.4 "Current Consumption in Modem-sleep
# Mode", CPU running, all peripheral clocks enabled. What a boot after a deep sleep costs.
ESP32C3_CPU_RUNNING_MA: Final = 28.0
# --- the XIAO ESP32-C3 board (Seeed wiki "XIAO ESP32C3 ... power consumption", measured) -------
# Deep sleep, powered from the battery pads: 44 uA for the whole board (regulator, charger,
# divider), against the chip's 5 uA. Fed from USB/5 V it is several times higher.
XIAO_DEEP_SLEEP_UA: Final = 44.0
# A whole boot after a deep sleep (ROM, bootloader, MicroPython, imports, BLE start), CPU
# running. Assumption, to be measured. Added per boot on top of the simulated awake spans
# (which count only device/sleep.py BOOT_MS of it, at modem-sleep current): conservative.
BOOT_S: Final = 0.4
# --- BLE link-layer timing (Core Spec v5.3, Vol 6 Part B 2.1 and 4.4.2; 1 Mbit/s PHY) --------
ADV_CHANNELS: Final = 3  # every advertising event goes out on channels 37, 38 and 39
ADV_PDU_OVERHEAD_BYTES: Final = 16  # preamble 1, access address 4, header 2, AdvA 6, CRC 3
US_PER_BYTE: Final = 8  # 1 Mbit/s
RX_WINDOW_MS: Final = 0.15  # listening for a scan/connect request after each connectable PDU
RADIO_RAMP_MS: Final = 1.5  # wake from sleep, PLL settle, between-channel hops, at modem current
CONNECTION_AVG_MA: Final = 3.0  # connection events every 30 ms, ~1 ms of radio each, at RX/TX
# The simulated air connects instantly; a real connect + service discovery (cached) + one
# write + disconnect keeps the chip awake ~0.5 s (assumption, to be measured).
CONNECTION_AWAKE_S: Final = 0.5
# --- the rest of the board ------------------------------------------------------------------
CPU_WAKE_MS: Final = 1.0  # one touch-loop iteration of MicroPython's asyncio, awake
TTP223_UA: Final = 3.5  # Tontek TTP223 datasheet, DC characteristics: fast mode, VDD 3 V, typ
MOTOR_MA: Final = 70.0  # coin ERM at 3 V rated current (BOM motor's datasheet), x PWM duty
LED_MA_PER_CHANNEL: Final = 12.0  # WS2812B/SK6812 datasheet: ~12 mA per colour at full drive
# The LED's idle draw (~0.5-1 mA for WS2812-class parts) is removed by power-gating it with a
# MOSFET (hardware/); without that gate it alone would drain a 500 mAh cell in ~3 weeks.
# --- batteries --------------------------------------------------------------------------------
BATTERY_MAH: Final = {
    "lipo-500": 500.0,  # 500 mAh LiPo pouch (e.g. 502535 cell datasheet, 0.2 C to 3.0 V)
    "cr2032": 225.0,  # Energizer CR2032 datasheet: 235 mAh to 2.0 V at 15 kohm; 225 usable
}
USABLE_FRACTION: Final = {
    "lipo-500": 0.9,  # firmware reports 0% at 3.3 V (device/battery.py); the rest is reserve
    "cr2032": 0.9,
}
# A CR2032 cannot feed an ESP32-C3: the chip needs >= 3.0 V (datasheet "Recommended Operating
# Conditions") and its ~100 mA radio peaks pull a coin cell (10-30 ohm internal resistance)
# far below that. The coin-cell figure is printed for comparison only.
INFEASIBLE: Final = {"cr2032": "ESP32-C3 needs >= 3.0 V and ~100 mA peaks; a CR2032 gives neither"}
ALWAYS_ON: Final = "stock always-on"
DEEP_SLEEP: Final = "stock deep-sleep"
LIGHT_SLEEP: Final = "auto-light-sleep"
PROFILES: Final = (ALWAYS_ON, LIGHT_SLEEP)
NOT_STOCK: Final = "not reachable on a stock image"


def advert_event_mc(payload_len: int, *, asleep_between: bool) -> float:
    """Charge of one advertising event in millicoulombs (mA x s)."""
    pdu_ms = (payload_len + ADV_PDU_OVERHEAD_BYTES) * US_PER_BYTE / 1000
    radio = ADV_CHANNELS * (pdu_ms * ESP32C3_BLE_TX_MA + RX_WINDOW_MS * ESP32C3_RX_MA)
    # Awake anyway (micropython profile): the ramp costs only the radio's share, counted above.
    ramp = RADIO_RAMP_MS * ESP32C3_MODEM_SLEEP_MA if asleep_between else 0.0
    return (radio + ramp) / 1000


@dataclass(slots=True, frozen=True)
class SleepCycles:
    """What a wearable did between deep sleeps: awake seconds (boots included) and boots."""

    awake_s: float
    boots: int
    listen_period_s: int


@dataclass(slots=True, frozen=True)
class Breakdown:
    profile: str
    parts_mc: dict[str, float]  # charge per state over the run
    duration_s: float
    capacity_mah: float

    @property
    def average_ma(self) -> float:
        return sum(self.parts_mc.values()) / self.duration_s if self.duration_s else 0.0

    @property
    def life_days(self) -> float:
        return self.capacity_mah / self.average_ma / 24 if self.average_ma else float("inf")

    @property
    def mah_per_day(self) -> float:
        return self.average_ma * 24


@dataclass(slots=True, frozen=True)
class EnergyEstimate:
    battery: str
    duration_s: float
    advert_events: float
    connection_s: float
    connections: int
    motor_s: float
    led_s: float
    cpu_wakes: int
    profiles: tuple[Breakdown, ...]
    caveat: str | None
    sleep: SleepCycles | None = None

    def profile(self, name: str) -> Breakdown:
        return next(b for b in self.profiles if b.profile == name)

    def as_dict(self) -> dict[str, object]:
        return {
            "battery": self.battery,
            "virtual_days": round(self.duration_s / 86400, 3),
            "advert_events": round(self.advert_events),
            "connection_s": round(self.connection_s, 2),
            "connections": self.connections,
            "motor_s": round(self.motor_s, 2),
            "led_s": round(self.led_s, 2),
            "cpu_wakes": self.cpu_wakes,
            "profiles": {
                b.profile: {
                    "average_ma": round(b.average_ma, 4),
                    "mah_per_day": round(b.mah_per_day, 2),
                    "life_days": round(b.life_days, 1),
                    "stock_image": b.profile != LIGHT_SLEEP,
                    "charge_mc": {k: round(v, 1) for k, v in b.parts_mc.items()},
                }
                for b in self.profiles
            },
            "caveat": self.caveat,
            "deep_sleep": None
            if self.sleep is None
            else {
                "awake_s": round(self.sleep.awake_s, 1),
                "boots": self.sleep.boots,
                "listen_period_s": self.sleep.listen_period_s,
            },
        }

    def lines(self) -> list[str]:
        out = [
            (
                f"{self.duration_s / 86400:.2f} days: {self.advert_events:,.0f} advertising "
                f"events, {self.connections} connections, motor {self.motor_s:.1f} s, "
                f"LED {self.led_s:.1f} s, {self.cpu_wakes:,} CPU wakes"
            ),
        ]
        if self.sleep is not None:
            out.append(
                f"deep sleep: {self.sleep.boots:,} boots, awake {self.sleep.awake_s:,.0f} s "
                f"({100 * self.sleep.awake_s / self.duration_s:.1f}%), listen period "
                f"{self.sleep.listen_period_s} s"
            )
        for b in self.profiles:
            total = sum(b.parts_mc.values()) or 1.0
            shares = ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in b.parts_mc.items())
            label = f" [{NOT_STOCK}]" if b.profile == LIGHT_SLEEP else ""
            out.append(
                f"{b.profile:<17} avg {b.average_ma:8.3f} mA, {b.mah_per_day:6.2f} mAh/day -> "
                f"{b.life_days:7.1f} days on {self.battery}{label} ({shares})"
            )
        if self.caveat:
            out.append(f"caveat: {self.caveat}")
        return out


def _on_seconds(trace: Sequence[tuple[float, float]], end: float) -> float:
    """Integral of a (time, level 0..1) step trace up to ``end``."""
    if not trace:
        return 0.0
    total = 0.0
    for (t, level), (t_next, _) in zip(trace, [*trace[1:], (end, 0.0)], strict=True):
        total += level * max(min(t_next, end) - t, 0.0)
    return total


def estimate(
    *,
    battery: str,
    duration_s: float,
    activity: RadioActivity,
    motor: Sequence[tuple[float, int]],
    led: Sequence[tuple[float, tuple[int, int, int]]],
    cpu_wakes: int,
    sleep: SleepCycles | None = None,
) -> EnergyEstimate:
    if battery not in BATTERY_MAH:
        raise ValueError(f"unknown battery {battery!r}; one of {sorted(BATTERY_MAH)}")
    motor_s = _on_seconds([(t, duty / 65535) for t, duty in motor], duration_s)
    led_level = _on_seconds([(t, sum(rgb) / 765) for t, rgb in led], duration_s)
    led_s = _on_seconds([(t, 1.0 if any(rgb) else 0.0) for t, rgb in led], duration_s)
    events = sum(span.events for span in activity.spans)
    capacity = BATTERY_MAH[battery] * USABLE_FRACTION[battery]
    breakdowns = []
    for profile in PROFILES:
        asleep = profile == LIGHT_SLEEP
        adverts = sum(
            span.events * advert_event_mc(span.payload_len, asleep_between=asleep) for span in activity.spans
        )
        cpu_ms = CPU_WAKE_MS if asleep else 0.0  # awake anyway in the micropython profile
        parts = {
            "idle": duration_s * (ESP32C3_LIGHT_SLEEP_UA / 1000 if asleep else ESP32C3_MODEM_SLEEP_MA),
            "adverts": adverts,
            "connections": activity.connection_s * CONNECTION_AVG_MA
            + activity.connections * CONNECTION_AWAKE_S * (ESP32C3_MODEM_SLEEP_MA + CONNECTION_AVG_MA),
            "cpu": cpu_wakes * cpu_ms / 1000 * ESP32C3_MODEM_SLEEP_MA,
            "motor": motor_s * MOTOR_MA,
            "led": led_level * 3 * LED_MA_PER_CHANNEL,
            "touch_ic": duration_s * TTP223_UA / 1000,
        }
        breakdowns.append(Breakdown(profile, parts, duration_s, capacity))
    if sleep is not None:
        breakdowns.insert(1, _deep_sleep(activity, duration_s, capacity, motor_s, led_level, sleep))
    return EnergyEstimate(
        battery,
        duration_s,
        events,
        activity.connection_s,
        activity.connections,
        motor_s,
        led_s,
        cpu_wakes,
        tuple(breakdowns),
        INFEASIBLE.get(battery),
        sleep,
    )


def _deep_sleep(  # noqa: PLR0917 - the estimate's own figures, passed on
    activity: RadioActivity,
    duration_s: float,
    capacity: float,
    motor_s: float,
    led_level: float,
    sleep: SleepCycles,
) -> Breakdown:
    """The wearable's cycle on the stock image: awake as always-on, else deep sleep."""
    awake_s = min(sleep.awake_s, duration_s)
    adverts = sum(
        span.events * advert_event_mc(span.payload_len, asleep_between=False) for span in activity.spans
    )
    parts = {
        "deep_sleep": (duration_s - awake_s) * XIAO_DEEP_SLEEP_UA / 1000,
        "awake": awake_s * ESP32C3_MODEM_SLEEP_MA,
        "boots": sleep.boots * BOOT_S * ESP32C3_CPU_RUNNING_MA,
        "adverts": adverts,
        # The air connects instantly; a real connection keeps the chip awake longer than the
        # simulated session did, so its set-up time is added awake, as for always-on.
        "connections": activity.connection_s * CONNECTION_AVG_MA
        + activity.connections * CONNECTION_AWAKE_S * (ESP32C3_MODEM_SLEEP_MA + CONNECTION_AVG_MA),
        "motor": motor_s * MOTOR_MA,
        "led": led_level * 3 * LED_MA_PER_CHANNEL,
        "touch_ic": duration_s * TTP223_UA / 1000,
    }
    return Breakdown(DEEP_SLEEP, parts, duration_s, capacity)
