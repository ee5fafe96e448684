"""The couple-key rule of `config check`: generated keys always pass, typed or copied ones fail."""

from __future__ import annotations

import secrets

import pytest

from hub.config.validate import couple_key_problems, weak_key_reason
from hub.config.write import new_couple_key

# Enough generated keys that a rule with a real false-alarm rate (say 1e-4) would show up; the
# documented rates are below 1e-13, so this never fails by chance.
GENERATED_KEYS = 50_000


@pytest.mark.slow  # thousands of generated keys
def test_every_generated_key_passes() -> None:
    rejected = [
        key.hex() for key in (secrets.token_bytes(32) for _ in range(GENERATED_KEYS)) if weak_key_reason(key)
    ]
    assert rejected == []
    assert list(couple_key_problems(new_couple_key())) == []


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("5a" * 32, "distinct"),  # the old example's key
        ("00" * 32, "distinct"),
        ("ab" * 32, "distinct"),
        (bytes(range(32)).hex(), "in a row"),  # 00 01 02 ...
        (bytes(range(255, 223, -1)).hex(), "in a row"),  # counting down
        (secrets.token_bytes(12).hex() + "77" * 8 + secrets.token_bytes(12).hex(), "in a row"),
        ("deadbeef" * 8, "distinct"),
        ((bytes(secrets.SystemRandom().sample(range(256), 16)) * 2).hex(), "repeats every 16"),
        (b"The quick brown fox jumps over!!".hex(), "text"),
    ],
    # Ids by position: two of the keys are random, and `pytest -n` needs every worker to collect
    # the same names.
    ids=lambda value: value if value in {"distinct", "in a row", "repeats every 16", "text"} else "key",
)
def test_keys_a_person_made_are_refused(key: str, why: str) -> None:
    ((where, problem),) = couple_key_problems(key)
    assert where == "relay.couple_key"
    assert why in problem
    assert "heartline setup" in problem


def test_a_malformed_key_says_to_run_setup() -> None:
    ((_, problem),) = couple_key_problems("written-by-heartline-setup")
    assert "64 hex characters" in problem
    assert "heartline setup" in problem
