"""Logging set-up for the command line: one line per record, greppable, --verbose for debug."""

from __future__ import annotations

import logging
import sys


def setup_logging(*, verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Third-party chatter that says nothing to a couple's installer at INFO level.
    for noisy in ("uvicorn.access", "bleak", "amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # bthome-ble logs a warning for every advert it cannot decrypt: a neighbour's flood of forged
    # adverts would fill the Pi's SD card. Ingest counts every rejection by reason instead.
    logging.getLogger("bthome_ble").setLevel(logging.DEBUG if verbose else logging.CRITICAL)
