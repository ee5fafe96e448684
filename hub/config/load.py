"""TOML (or the settings' JSON) onto the schema's dataclasses: strict, every error naming its key.

Unknown keys are refused with a "did you mean", wrong types are refused rather than coerced
(numbers must be finite: TOML's nan and inf are refused), and a value marked secret in the schema
is never repeated in an error. ``config_report`` finds every problem of a file (``heartline config
check`` lists them all); ``load_config`` raises the first, saying how many more there are.
``plain`` is the way back, for what is stored as JSON.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, get_args, get_origin

from hub.config.schema import HomeAssistantSection, HubConfig, WebSection
from hub.config.validate import config_problems, homeassistant_problems, raise_first, web_problems
from hub.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def load_config(path: Path) -> HubConfig:
    """Read and validate ``path``; raises ConfigError naming the first wrong key (and how many
    more problems `heartline config check` would list)."""
    config, problems = config_report(path)
    if problems:
        first, more = problems[0], len(problems) - 1
        if more:
            also = f" (and {more} more: `heartline config check {path}` lists every one)"
            raise ConfigError(first.key, first.problem + also, first.source)
        raise first
    assert config is not None  # no problems: it was built
    return config


def config_report(path: Path) -> tuple[HubConfig | None, list[ConfigError]]:
    """Every problem of the file at ``path`` (the config when there are none): an unreadable
    file or its TOML syntax alone, else unknown keys, wrong types and missing keys table by
    table, then every rule on what could be read (a value that could not stands at its default,
    which breaks no rule)."""
    try:
        raw = read_toml(path)
    except ConfigError as ex:
        return None, [ex]
    problems: list[ConfigError] = []
    source = str(path)
    config = _build(HubConfig, raw, "", _Reading(source, secret=False, complete=False, problems=problems))
    if config is None:
        return None, problems
    problems.extend(ConfigError(key, problem, source) for key, problem in config_problems(config))
    return (None if problems else config), problems


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``; ConfigError (one line: what and the fix) if unreadable."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
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
    stored in, rather than a file a person wrote. Raises ConfigError for the first problem.
    """
    built = _build(cls, table, prefix, _Reading(source, secret=False, complete=complete))
    assert built is not None  # without a problem list, every problem raised
    return built


def _build(cls: type[T], table: object, prefix: str, reading: _Reading) -> T | None:
    """As ``build``; with ``reading.problems`` every problem is collected there instead, and
    None means this table could not be built (a required key missing or wrong)."""
    if not isinstance(table, dict):
        reading.problem(ConfigError(prefix.rstrip(".") or "-", "must be a table", reading.source))
        return None
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            reading.problem(ConfigError(f"{prefix}{key}", f"unknown key{hint}", reading.source))
    values: dict[str, Any] = {}
    whole = True
    for name, spec in known.items():
        key = f"{prefix}{name}"
        optional = not reading.complete and (
            spec.default is not MISSING or spec.default_factory is not MISSING
        )
        if name not in table:
            if not optional:
                reading.problem(ConfigError(key, "is required", reading.source))
                whole = False
            continue
        try:
            value = reading.secret_as(secret=bool(spec.metadata.get("secret"))).coerce(
                hints[name], table[name], key
            )
        except ConfigError as ex:
            reading.problem(ex)
            value = _UNREAD
        if value is _UNREAD:
            whole = whole and optional  # a default stands in, so the rules still run on the rest
            continue
        values[name] = value
    return cls(**values) if whole else None


# A value that could not be read (its problem is collected): the field is left to its default.
_UNREAD: Final = object()


@dataclass(frozen=True, slots=True)
class _Reading:
    """How one value is read: where from, whether it may be shown, whether defaults may fill in,
    and where problems go (None: the first one raises)."""

    source: str
    secret: bool  # say what is wrong, never what was given
    complete: bool
    problems: list[ConfigError] | None = None

    def secret_as(self, *, secret: bool) -> _Reading:
        return dataclasses.replace(self, secret=secret)

    def problem(self, error: ConfigError) -> None:
        if self.problems is None:
            raise error
        self.problems.append(error)

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
            items = [self._item(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
            return tuple(i for i in items if i is not _UNREAD)
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
            if not math.isfinite(value):
                raise self._wrong(key, "a finite number", value)
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
            built = _build(hint, value, f"{key}.", self.secret_as(secret=False))
            return _UNREAD if built is None else built
        raise TypeError(f"config field {key} has unsupported type {hint!r}")  # a bug, not bad input

    def _item(self, hint: Any, value: object, key: str) -> Any:
        try:
            return self.coerce(hint, value, key)
        except ConfigError as ex:
            self.problem(ex)
            return _UNREAD


def plain(value: object) -> Any:
    """A schema dataclass as JSON-ready data: what ``build`` reads back."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value
