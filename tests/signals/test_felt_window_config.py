"""``[delivery] felt_it_window_s``: 60 s unless set, 1 s to an hour, a wrong one named in the error."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hub.config import parse_config
from hub.errors import ConfigError
from tests.hub.test_config import GOOD


def test_the_window_is_a_minute_unless_set() -> None:
    assert parse_config(copy.deepcopy(GOOD)).delivery.felt_it_window_s == 60.0
    raw: dict[str, Any] = copy.deepcopy(GOOD)
    raw.setdefault("delivery", {})["felt_it_window_s"] = 90
    assert parse_config(raw).delivery.felt_it_window_s == 90.0


@pytest.mark.parametrize("value", [0, -5, 3601])
def test_a_window_out_of_range_is_refused_naming_the_key(value: float) -> None:
    raw: dict[str, Any] = copy.deepcopy(GOOD)
    raw.setdefault("delivery", {})["felt_it_window_s"] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.key == "delivery.felt_it_window_s"
    assert "felt_it_window_s" in str(caught.value)
    assert "3600" in str(caught.value)
