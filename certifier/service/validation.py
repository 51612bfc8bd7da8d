"""The values a request carries, turned into what the service stores: the one date parser (and
its one meaning of "valid until"), kinds, free text, flags, displayed fields.

For the API these run after contract.check_request has checked the shapes against the OpenAPI
document, so what they add are the rules a schema cannot state (a 422: a day not in the
calendar, a date outside 1970 to 2199, a kind this issuer is not accredited for). Rosters and the
CLI, which have no schema in front of them, get the shape checks here too (400 problems).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from certifier.service.problems import Invalid, Problems, Where
from certifier.service.schemas import (
    DATE_PATTERN,
    DATE_TIME_PATTERN,
    FORM_FLAGS,
    MAX_TEXT,
    MAX_TIME,
    MIN_TIME,
)
from verifier.core.errors import InvalidFields
from verifier.core.kinds import KINDS

__all__ = ["Invalid", "Problems", "parse_date", "parse_fields", "parse_flag", "parse_kind", "parse_text"]

_DATE = re.compile(DATE_PATTERN)
_DATE_TIME = re.compile(DATE_TIME_PATTERN)


def _in_range(ts: int, where: Where | str, problems: Problems) -> int | None:
    if not MIN_TIME <= ts <= MAX_TIME:
        problems.reject(where, "date_range")
        return None
    return ts


def parse_date(
    value: Any,
    where: Where | str,
    problems: Problems,
    *,
    end_of_day: bool,
    date_only: bool = False,
    blank: bool = True,
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
            problems.add(where, "unix_range", low=MIN_TIME, high=MAX_TIME)
            return None
        return value
    if not isinstance(value, str) or not (_DATE.fullmatch(value) or (not date_only and _DATE_TIME.fullmatch(value))):
        problems.add(where, "invalid_day" if date_only else "invalid_date", value=repr(str(value)[:40]))
        return None
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            ts = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) + (86400 if end_of_day else 0)
        else:
            dt = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
            ts = int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
    except (ValueError, OverflowError):
        problems.reject(where, "not_in_calendar", value=repr(value))
        return None
    return _in_range(ts, where, problems)


def parse_kind(
    value: Any, where: Where | str, problems: Problems, allowed: tuple[str, ...], *, blank: bool = True
) -> int | None:
    """A kind this issuer is accredited for; absent (or an empty form field, where `blank`): its first."""
    if value is None or (value == "" and blank):
        return KINDS[allowed[0]]
    if not isinstance(value, str) or value not in KINDS:
        problems.add(where, "enum", allowed=", ".join(repr(k) for k in KINDS))
        return None
    if value not in allowed:
        problems.reject(where, "kind_not_accredited", allowed=", ".join(allowed), kind=value)
        return None
    return KINDS[value]


def parse_text(value: Any, where: Where | str, problems: Problems, *, limit: int = MAX_TEXT) -> str | None:
    """A short free text (a reference, a file name): no control characters, which some databases
    refuse (PostgreSQL and NUL) and which no registrar means to send."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        problems.add(where, "too_long", limit=limit)
        return None
    if any(unicodedata.category(c) == "Cc" for c in value):
        problems.add(where, "invalid_text")
        return None
    return value


def parse_flag(value: Any, where: Where | str, problems: Problems, *, form: bool = True) -> bool:
    """A boolean: JSON true/false, or in a form one of FORM_FLAGS; absent: False."""
    if value is None:
        return False
    if form and isinstance(value, str) and value in FORM_FLAGS:
        return FORM_FLAGS[value]
    if not form and isinstance(value, bool):
        return value
    if form:
        problems.add(where, "enum", allowed=", ".join(repr(k) for k in FORM_FLAGS if k))
    else:
        problems.add(where, "type_boolean")
    return False


def parse_fields(value: Any, where: Where | str, problems: Problems) -> dict[str, str] | None:
    """The displayed fields printed on the document, bound on chain and shown by its seal; what
    the schema does not already refuse (a value blank once trimmed, one too big for a seal) is a 422."""
    from verifier.core.fields import normalise

    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(where, "fields_not_object")
        return None
    try:
        return normalise(value) or None
    except InvalidFields as exc:
        problems.reject(where, exc.code, **exc.params)
        return None
