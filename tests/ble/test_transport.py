"""BLE transports are chosen by a spec string; a bad one says what a good one looks like."""

from __future__ import annotations

import pytest

from hub.ble.transport import BlueZTransport, SimTransport, make_transport
from hub.errors import TransportError


def test_bluez_spec_names_the_adapter() -> None:
    transport = make_transport("bluez:hci1")
    assert isinstance(transport, BlueZTransport)
    assert transport.client_kwargs() == {"bluez": {"adapter": "hci1"}}


def test_sim_spec_names_the_air_and_the_hub_radio() -> None:
    transport = make_transport("sim:127.0.0.1:7000/B8:27:EB:00:00:0A")
    assert isinstance(transport, SimTransport)
    assert (transport.link.host, transport.link.port, transport.link.addr) == (
        "127.0.0.1",
        7000,
        "B8:27:EB:00:00:0A",
    )


@pytest.mark.parametrize("spec", ["", "bluez", "bluez:wlan0", "sim:127.0.0.1", "sim:host:99999", "usb:0"])
def test_bad_specs_are_refused_with_an_example(spec: str) -> None:
    with pytest.raises(TransportError, match="bluez:hci0"):
        make_transport(spec)


async def test_an_unreachable_air_is_a_transport_error() -> None:
    transport = make_transport("sim:127.0.0.1:1/HUB")
    with pytest.raises(TransportError, match="is the simulator running"):
        await transport.open()
