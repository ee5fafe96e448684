# Board entry for the reference board (Seeed XIAO ESP32-C3, see hardware/ble-spec.md).
# Deploy the package and this entry:  mpremote cp -r device : + cp device/main.py :main.py
# Pins are the only board-specific facts; everything else is injected into Button.
import asyncio

import bluetooth
import cryptolib
import machine
import neopixel
from micropython import const

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
    asyncio.run(build().run())


if __name__ == "__main__":
    main()
