"""Questions the setting-up commands ask: every one is also a flag, and ``--yes`` (or no terminal)
takes each default without asking, failing in one line naming the flag when there is none."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import HeartlineError


class MissingChoiceError(HeartlineError, ValueError):
    """A value with no default was neither given as a flag nor answered."""

    def __init__(self, flag: str, why: str) -> None:
        super().__init__(f"{flag} is needed ({why}); pass {flag} ...")
        self.flag = flag


@dataclass
class Asker:
    """Asks on a terminal unless ``interactive`` is off; answers come back as given."""

    interactive: bool
    ask: Callable[[str], str] = input
    ask_secret: Callable[[str], str] = field(default=getpass.getpass)

    @classmethod
    def for_command(cls, *, yes: bool) -> Asker:
        return cls(interactive=not yes and sys.stdin.isatty())

    def text(self, flag: str, given: str | None, question: str, default: str | None = None) -> str:
        if given is not None:
            return given
        if not self.interactive:
            if default is None:
                raise MissingChoiceError(
                    flag, "it has no default and there is nobody to ask (--yes or no terminal)"
                )
            return default
        shown = f" [{default}]" if default else ""
        while True:
            try:
                answer = self.ask(f"{question}{shown}: ").strip()
            except EOFError:
                raise MissingChoiceError(flag, "the question got no answer") from None
            if answer or default is not None:
                return answer or default or ""

    def number(self, flag: str, given: int | None, question: str, default: int) -> int:
        while True:
            text = self.text(flag, None if given is None else str(given), question, str(default))
            try:
                return int(text)
            except ValueError:
                if not self.interactive or given is not None:
                    raise MissingChoiceError(flag, f"{text!r} is not a whole number") from None

    def path(self, flag: str, given: Path | None, question: str, default: Path) -> Path:
        return Path(
            self.text(flag, None if given is None else str(given), question, str(default))
        ).expanduser()

    def secret(self, flag: str, question: str) -> str:
        """A password: from a prompt that does not echo, never from the command line."""
        if not self.interactive:
            raise MissingChoiceError(
                flag, "a password is never taken from the command line and there is nobody to ask"
            )
        try:
            answer = self.ask_secret(f"{question}: ").strip()
        except EOFError:
            answer = ""
        if not answer:
            raise MissingChoiceError(flag, "no password was typed")
        return answer


def read_secret_file(path: Path, what: str) -> str:
    """A password kept in a file (first line), for scripts: never on the command line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as ex:
        raise MissingChoiceError(f"--{what}-file", f"{path} cannot be read: {ex.strerror}") from ex
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not first:
        raise MissingChoiceError(f"--{what}-file", f"{path} is empty")
    return first
