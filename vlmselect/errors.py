"""Errors a user can act on. The CLI maps each to a message, a hint and an exit code."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class VlmselectError(Exception):
    """Base error: `message` says what went wrong, `hint` how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(VlmselectError):
    """Bad input from the user: a flag value, an unknown name, an invalid catalog. Exit 2."""

    exit_code = 2


class RuntimeFailure(VlmselectError):
    """Something outside the user's input failed: a server, a download, a smoke answer. Exit 1."""

    exit_code = 1


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The choices most like `name`, for 'did you mean' hints."""
    choices = list(choices)
    found = difflib.get_close_matches(name.lower(), choices, n=n, cutoff=0.4)
    if not found:
        found = [c for c in choices if name.lower() in c or c in name.lower()][:n]
    return found


def unknown(kind: str, name: str, choices: Iterable[str], listing: str) -> UsageError:
    """An 'unknown X' usage error naming the closest choices."""
    near = closest(name, choices)
    hint = f"did you mean {', '.join(near)}? " if near else ""
    return UsageError(f"unknown {kind} {name!r}", hint + listing)
