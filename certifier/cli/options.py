"""What the commands read from their options and how they answer: dates, validity periods,
displayed fields, document kinds, and ``--json`` (JSON for scripts, a sentence for people)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from verifier.core.kinds import KINDS

F = TypeVar("F", bound=Callable[..., Any])


def emit(as_json: bool, data: object, text: str) -> None:
    """Print `data` as JSON with ``--json``, else `text`."""
    click.echo(json.dumps(data, indent=2) if as_json else text)


def kinds_option(what: str) -> Callable[[F], F]:
    """``--kind`` (repeatable, at least one): the document kinds an accreditor or issuer is for."""
    return click.option(
        "--kind",
        "kinds",
        multiple=True,
        required=True,
        type=click.Choice(list(KINDS)),
        help=f"Document kind it may {what} (repeatable).",
    )


def parse_date(value: str | None, *, end_of_day: bool) -> int:
    """The one date parser of the service (certifier.service.validation.parse_date), for an option:
    an ISO date (inclusive: valid until 2031-06-30 expires at the start of 2031-07-01 UTC) or an ISO
    date-time, 1970 to 2199. Returns Unix seconds; 0 when not given."""
    from certifier.service.validation import Problems
    from certifier.service.validation import parse_date as parse

    problems = Problems()
    parsed = parse(value, "date", problems, end_of_day=end_of_day, blank=False) if value is not None else 0
    if problems.items or parsed is None:
        raise click.BadParameter("; ".join(problems.items) or f"{value!r} is not a date like 2031-06-30")
    return parsed


def validity(valid_from: str | None, valid_until: str | None) -> tuple[int, int]:
    """(validFrom, validUntil) in Unix seconds from the CLI's dates; validUntil 0: never expires."""
    start = parse_date(valid_from, end_of_day=False) if valid_from else int(time.time())
    until = parse_date(valid_until, end_of_day=True)
    if until and until <= start:
        raise click.BadParameter("--valid-until must be after --valid-from")
    return start, until


def parse_fields(items: tuple[str, ...]) -> dict[str, str]:
    """``--field NAME=VALUE`` options as displayed fields, checked as a seal will carry them."""
    from verifier.core.fields import normalise

    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--field")
        if name.strip() in values:
            raise click.BadParameter(f"field {name.strip()!r} given twice", param_hint="--field")
        values[name.strip()] = value
    return normalise(values)
