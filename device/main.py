# Board entry for the reference board (Seeed XIAO ESP32-C3, see hardware/ble-spec.md).
# Deploy the package and this entry:  mpremote cp -r device : + cp device/main.py :main.py
# Pins are the only board-specific facts; everything else is injected into Button.
import bluetooth
import cryptolib
import esp32
import machine
import neopixel
from micropython import const

from device import sleep, watchdog
from device.button import Button
from device.clock import BoardClock
from device.flash import FileStorage

TOUCH_PIN = const(3)  # D1: TTP223 output, high while touched
MOTOR_PIN = const(4)  # D2: gate of the ERM motor's MOSFET
LED_PIN = const(5)  # D3: WS2812 data
BATTERY_PIN = const(2)  # D0 (ADC1): 1:2 divider from the LiPo
LED_POWER_PIN = const(10)  # D10: ON of the LED's load switch (TPS22918), high = powered
MOTOR_PWM_HZ = const(200)  # ERM motors run smoothly at a low PWM frequency
ECB = const(1)  # cryptolib mode 1 = AES-ECB
# "puck" (USB power: always listening) or "wearable" (battery: deep sleep between listen windows,
# device/sleep.py; needs MicroPython >= v1.27.0 for esp32.wake_on_gpio). The "power" file in
# flash ("wearable 60") overrides both, so one build serves both kinds of button.
POWER_MODE = "puck"
LISTEN_PERIOD_S = const(60)


def _aes(key):
    return cryptolib.aes(key, ECB).encrypt


def build():
    adc = machine.ADC(machine.Pin(BATTERY_PIN))
    adc.atten(machine.ADC.ATTN_11DB)
    return Button(
        bluetooth.BLE(),
        machine.Pin(TOUCH_PIN, machine.Pin.IN),
        machine.PWM(machine.Pin(MOTOR_PIN), freq=MOTOR_PWM_HZ, duty_u16=0),
        neopixel.NeoPixel(machine.Pin(LED_PIN), 1),
        adc,
        FileStorage("/"),
        BoardClock(),
        _aes,
        led_power=machine.Pin(LED_POWER_PIN, machine.Pin.OUT, value=0),
    )


def main():
    button = build()
    mode, period = sleep.read_mode(FileStorage("/"), POWER_MODE, LISTEN_PERIOD_S)
    clock = BoardClock()
    if mode == sleep.WEARABLE and hasattr(esp32, "wake_on_gpio"):
        touch = machine.Pin(TOUCH_PIN, machine.Pin.IN)
        firmware = sleep.Wearable(button, machine, esp32, touch, clock, period).run()
    else:  # a puck, or an image too old to wake a C3 on a pin: always listening
        firmware = button.run()
    # Fed while awake; an unhandled exception in any firmware task resets the board.
    watchdog.run_supervised(firmware, machine, clock)


if __name__ == "__main__":
    main()
