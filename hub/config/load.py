"""TOML (or the settings' JSON) onto the schema's dataclasses: strict, every error naming its key.

Unknown keys are refused with a "did you mean", wrong types are refused rather than coerced, and
a value marked secret in the schema is never repeated in an error. ``plain`` is the way back, for
what is stored as JSON.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args, get_origin

from hub.config.schema import HomeAssistantSection, HubConfig, WebSection
from hub.config.validate import config_problems, homeassistant_problems, raise_first, web_problems
from hub.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def load_config(path: Path) -> HubConfig:
    """Read and validate ``path``; raises ConfigError naming the first wrong key."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError as ex:
        raise ConfigError(
            "-",
            "file not found; write it with `heartline setup` (`heartline couple join` on the partner's hub)",
            source,
        ) from ex
    except IsADirectoryError as ex:
        raise ConfigError("-", "is a directory; pass the path of the hub's .toml file", source) from ex
    except PermissionError as ex:
        raise ConfigError(
            "-", "cannot be read (permission denied); make it readable by the user the hub runs as", source
        ) from ex
    except UnicodeDecodeError as ex:
        raise ConfigError("-", f"is not UTF-8 text (byte {ex.start}); save it as UTF-8", source) from ex
    except tomllib.TOMLDecodeError as ex:
        raise ConfigError("-", f"not valid TOML ({ex})", source) from ex
    except OSError as ex:
        raise ConfigError(
            "-", f"cannot be read ({ex.strerror or ex}); check the path and the disk", source
        ) from ex
    return parse_config(raw, source)


def parse_config(raw: dict[str, Any], source: str = "config") -> HubConfig:
    config = build(HubConfig, raw, "", source)
    raise_first(config_problems(config), source)
    return config


def parse_web_section(raw: object, source: str = "config") -> WebSection:
    """The ``[web]`` table alone (its access control), with the file's rules."""
    web = build(WebSection, raw, "web.", source)
    raise_first(web_problems(web), source)
    return web


def parse_homeassistant_section(raw: object, source: str = "config") -> HomeAssistantSection:
    """The ``[homeassistant]`` table alone, with the file's rules."""
    ha = build(HomeAssistantSection, raw, "homeassistant.", source)
    raise_first(homeassistant_problems(ha), source)
    return ha


def build(cls: type[T], table: object, prefix: str, source: str, *, complete: bool = False) -> T:
    """``table`` as a ``cls``; ``prefix`` is the table's key ("relay.") for the errors.

    With ``complete`` every field must be present, defaults or not: the shape something was
    stored in, rather than a file a person wrote.
    """
    if not isinstance(table, dict):
        raise ConfigError(prefix.rstrip(".") or "-", "must be a table", source)
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            raise ConfigError(f"{prefix}{key}", f"unknown key{hint}", source)
    values: dict[str, Any] = {}
    for name, spec in known.items():
        key = f"{prefix}{name}"
        if name in table:
            reading = _Reading(source, secret=bool(spec.metadata.get("secret")), complete=complete)
            values[name] = reading.coerce(hints[name], table[name], key)
        elif complete or (spec.default is MISSING and spec.default_factory is MISSING):
            raise ConfigError(key, "is required", source)
    return cls(**values)


@dataclass(frozen=True, slots=True)
class _Reading:
    """How one value is read: where from, whether it may be shown, whether defaults may fill in."""

    source: str
    secret: bool  # say what is wrong, never what was given
    complete: bool

    def _wrong(self, key: str, expected: str, value: object) -> ConfigError:
        given = "" if self.secret else f", not {value!r}"
        return ConfigError(key, f"must be {expected}{given}", self.source)

    def coerce(self, hint: Any, value: object, key: str) -> Any:  # noqa: C901, PLR0911, PLR0912
        origin = get_origin(hint)
        if origin in (types.UnionType, typing.Union):
            args = get_args(hint)
            if value is None and type(None) in args:  # JSON's null; TOML has none
                return None
            options = [a for a in args if a is not type(None)]
            return self.coerce(options[0], value, key)
        if origin is Literal:
            if value not in get_args(hint):
                allowed = ", ".join(repr(a) for a in get_args(hint))
                raise self._wrong(key, f"one of {allowed}", value)
            return value
        if origin is tuple:
            item, _ = get_args(hint)  # tuple[X, ...]: the schema's only kind of tuple
            if not isinstance(value, list):
                raise ConfigError(key, "must be a list", self.source)
            return tuple(self.coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value))
        if hint is bool:
            if not isinstance(value, bool):
                raise self._wrong(key, "true or false", value)
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self._wrong(key, "a whole number", value)
            return value
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self._wrong(key, "a number", value)
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise self._wrong(key, "a string", value)
            return value
        if hint is Path:
            if not isinstance(value, str) or not value:
                raise ConfigError(key, "must be a path string", self.source)
            return Path(value).expanduser()
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            return build(hint, value, f"{key}.", self.source, complete=self.complete)
        raise TypeError(f"config field {key} has unsupported type {hint!r}")  # a bug, not bad input


def plain(value: object) -> Any:
    """A schema dataclass as JSON-ready data: what ``build`` reads back."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value
