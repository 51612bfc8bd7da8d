"""Request validation that reports every problem at once, each with where it is.

Two kinds of problem, two statuses: a value of the wrong shape (a type, a pattern, an unknown
field: what the OpenAPI document states) is a 400; a well-formed value the service cannot act on
(a date out of range, validUntil before validFrom, a kind this issuer is not accredited for, a
file that is empty or not a ZIP) is a 422. A request with both kinds gets 400 and every problem.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from certifier.errors import RequestError
from verifier.core.kinds import KINDS

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
#: ``YYYY-MM-DD``, or an RFC 3339 date-time (``2031-06-30T12:00:00Z``, offset optional).
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATE_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)
_DATE = re.compile(DATE_PATTERN)
_DATE_TIME = re.compile(DATE_TIME_PATTERN)
#: Dates are Unix seconds from 1970-01-01 to the end of 2199: a diploma dated before the epoch
#: cannot be anchored, one valid past 2199 is a typo, and both fit a signed 64-bit column.
MIN_TIME = 0
MAX_TIME = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp())
#: Idempotency-Key: visible ASCII, as stored (the column holds 200 characters).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
MAX_TEXT = 200
#: Audit entry ids are an INTEGER column: 32 bits on PostgreSQL.
MAX_AUDIT_ID = 2**31 - 1


class Invalid(RequestError):
    """The request is refused; `status` is 400 (malformed) or 422 (well-formed, unprocessable)."""

    def __init__(self, problems: list[str], status: int = 400) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.status = status


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.malformed = False

    def add(self, where: str, message: str) -> None:
        """A value of the wrong shape (400)."""
        self.items.append(f"{where}: {message}")
        self.malformed = True

    def reject(self, where: str, message: str) -> None:
        """A well-formed value the service cannot act on (422)."""
        self.items.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise Invalid(self.items, 400 if self.malformed else 422)


def in_range(ts: int, where: str, problems: Problems) -> int | None:
    if not MIN_TIME <= ts <= MAX_TIME:
        problems.reject(where, "must be between 1970-01-01 and 2199-12-31")
        return None
    return ts


def parse_date(
    value: Any, where: str, problems: Problems, *, end_of_day: bool, date_only: bool = False, blank: bool = True
) -> int | None:
    """ISO date (inclusive: valid until 2031-06-30 means until the end of that day, UTC), RFC 3339
    date-time, or Unix seconds (a JSON integer); between 1970 and 2199 in every form. An empty
    string means "not given" where `blank` (an HTML form's empty field), and is refused elsewhere."""
    if value is None or (value == "" and blank):
        return None
    if isinstance(value, float) and value.is_integer() and not date_only:
        value = int(value)  # JSON's 1782864000.0 is the integer JSON Schema says it is
    if isinstance(value, int) and not isinstance(value, bool) and not date_only:
        if not MIN_TIME <= value <= MAX_TIME:
            problems.add(where, f"Unix seconds must be between {MIN_TIME} and {MAX_TIME} (1970 to 2199)")
            return None
        return value
    if not isinstance(value, str):
        problems.add(where, f"must be an ISO date or Unix seconds, not {type(value).__name__}")
        return None
    example = "2031-06-30" if end_of_day else "2026-07-01"
    if not (_DATE.fullmatch(value) or (not date_only and _DATE_TIME.fullmatch(value))):
        problems.add(where, f"{value[:40]!r} is not a date like {example}")
        return None
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            ts = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) + (86400 if end_of_day else 0)
        else:
            dt = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
            ts = int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
    except (ValueError, OverflowError):
        problems.reject(where, f"{value!r} is not a day of the calendar")
        return None
    return in_range(ts, where, problems)


def parse_kind(
    value: Any, where: str, problems: Problems, allowed: tuple[str, ...], *, blank: bool = True
) -> int | None:
    """A kind this issuer is accredited for; absent (or an empty form field, where `blank`): its first."""
    if value is None or (value == "" and blank):
        return KINDS[allowed[0]]
    if not isinstance(value, str) or value not in KINDS:
        problems.add(where, f"unknown kind {str(value)[:40]!r}; known: {', '.join(KINDS)}")
        return None
    if value not in allowed:
        problems.reject(where, f"this issuer may certify {', '.join(allowed)}, not {value}")
        return None
    return KINDS[value]


def parse_sha256(value: Any, where: str, problems: Problems) -> bytes | None:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        problems.add(where, "must be 64 hex digits (the document's SHA-256)")
        return None
    return bytes.fromhex(value)


def parse_text(value: Any, where: str, problems: Problems, *, limit: int = MAX_TEXT) -> str | None:
    """A short free text (a reference, a file name): no control characters, which some databases
    refuse (PostgreSQL and NUL) and which no registrar means to send."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        problems.add(where, f"must be a string of at most {limit} characters")
        return None
    if any(unicodedata.category(c) == "Cc" for c in value):
        problems.add(where, "must not contain control characters")
        return None
    return value


#: A yes/no form field (``credential``): what a checkbox or a script sends; empty means no.
FORM_FLAGS = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "no": False, "": False}


def parse_flag(value: Any, where: str, problems: Problems, *, form: bool = True) -> bool:
    """A boolean: JSON true/false, or in a form one of FORM_FLAGS; absent: False."""
    if value is None:
        return False
    if form and isinstance(value, str) and value in FORM_FLAGS:
        return FORM_FLAGS[value]
    if not form and isinstance(value, bool):
        return value
    problems.add(where, f"must be {'one of ' + ', '.join(repr(k) for k in FORM_FLAGS) if form else 'true or false'}")
    return False


def parse_idempotency_key(value: str | None, problems: Problems) -> str | None:
    """The key is stored as sent, so it must fit the column: refused rather than truncated (a
    truncated key would never be found again, and two keys could collide)."""
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        problems.add("Idempotency-Key", "must be 1 to 200 visible ASCII characters")
        return None
    return value


def check_keys(obj: dict[str, Any], where: str, allowed: set[str], required: set[str], problems: Problems) -> None:
    for key in sorted(obj.keys() - allowed):
        problems.add(f"{where}.{str(key)[:40]}", "unknown field")
    for key in sorted(required - obj.keys()):
        problems.add(f"{where}.{key}", "required")
