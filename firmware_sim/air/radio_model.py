"""How strongly one radio hears another: log-distance path loss with noise, loss and shadowing.

The model is the textbook log-distance one (Rappaport, *Wireless Communications*, 2nd ed.,
section 4.9): ``PL(d) = PL(d0) + 10 n log10(d / d0) + X_sigma``. The defaults describe a home.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

REFERENCE_DISTANCE_M: Final = 1.0
# Free-space loss at 1 m and 2.44 GHz is 20*log10(4*pi*d/lambda) = 40.2 dB.
PATH_LOSS_AT_1M_DB: Final = 40.2
# Indoor residential exponents measured at 2.4 GHz are about 2-3; 2.5 is a middle value.
DEFAULT_PATH_LOSS_EXPONENT: Final = 2.5
# A typical BLE receiver sensitivity at 1 Mbit/s (e.g. nRF52840 is -95 dBm; Pi's CYW43455
# is specified near -94 dBm); below this an advert is simply not heard.
DEFAULT_SENSITIVITY_DBM: Final = -94.0
# A body between a wearable and the hub costs tens of dB at 2.4 GHz; 15 dB is a mid value.
BODY_SHADOW_DB: Final = 15.0
# Never compute a log of zero: radios on top of each other are 10 cm apart.
MIN_DISTANCE_M: Final = 0.1


@dataclass(slots=True)
class RadioConditions:
    """Tunable radio conditions of one air; all randomness comes from ``rng``."""

    path_loss_exponent: float = DEFAULT_PATH_LOSS_EXPONENT
    noise_sigma_db: float = 4.0
    advert_loss: float = 0.0  # probability that any single advert is lost regardless of level
    sensitivity_dbm: float = DEFAULT_SENSITIVITY_DBM
    rng: random.Random | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.advert_loss <= 1.0:
            raise ValueError("advert_loss must be a probability between 0 and 1")
        if self.noise_sigma_db < 0:
            raise ValueError("noise_sigma_db must not be negative")
        if self.rng is None:
            self.rng = random.Random(0)

    def received_rssi(
        self,
        tx_power_dbm: float,
        distance_m: float,
        *,
        shadowed: bool = False,
        lossless: bool = False,
    ) -> int | None:
        """RSSI a receiver sees for one packet, or None if the packet is lost.

        ``lossless`` leaves out random packet loss (not noise): connection set-up retries
        at the link layer until it gets through, so only the level decides it.
        """
        rng = self.rng
        assert rng is not None  # set in __post_init__
        if not lossless and self.advert_loss and rng.random() < self.advert_loss:
            return None
        distance = max(distance_m, MIN_DISTANCE_M)
        loss = PATH_LOSS_AT_1M_DB + 10.0 * self.path_loss_exponent * math.log10(
            distance / REFERENCE_DISTANCE_M,
        )
        if shadowed:
            loss += BODY_SHADOW_DB
        if self.noise_sigma_db:
            loss += rng.gauss(0.0, self.noise_sigma_db)
        rssi = tx_power_dbm - loss
        if rssi < self.sensitivity_dbm:
            return None
        return round(rssi)
