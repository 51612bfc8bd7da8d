"""Request validation that reports every problem at once, each with where it is."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from verifier.kinds import KINDS

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class Invalid(Exception):
    """400 with the list of every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise Invalid(self.items)


def parse_date(value: Any, where: str, problems: Problems, *, end_of_day: bool) -> int | None:
    """ISO date (inclusive: valid until 2031-06-30 means until the end of that day, UTC), ISO
    date-time, or Unix seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            problems.add(where, "must not be negative")
            return None
        return value
    if not isinstance(value, str):
        problems.add(where, f"must be an ISO date or Unix seconds, not {type(value).__name__}")
        return None
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            ts = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
            return ts + 86400 if end_of_day else ts
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
    except ValueError:
        problems.add(where, f"{value!r} is not a date like 2031-06-30")
        return None


def parse_kind(value: Any, where: str, problems: Problems, allowed: tuple[str, ...]) -> int | None:
    if value is None or value == "":
        return KINDS[allowed[0]]
    if not isinstance(value, str) or value not in KINDS:
        problems.add(where, f"unknown kind {value!r}; known: {', '.join(KINDS)}")
        return None
    if value not in allowed:
        problems.add(where, f"this issuer may certify {', '.join(allowed)}, not {value}")
        return None
    return KINDS[value]


def parse_sha256(value: Any, where: str, problems: Problems) -> bytes | None:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        problems.add(where, "must be 64 hex digits (the document's SHA-256)")
        return None
    return bytes.fromhex(value)


def check_keys(obj: dict[str, Any], where: str, allowed: set[str], required: set[str], problems: Problems) -> None:
    for key in sorted(obj.keys() - allowed):
        problems.add(f"{where}.{key}", "unknown field")
    for key in sorted(required - obj.keys()):
        problems.add(f"{where}.{key}", "required")
