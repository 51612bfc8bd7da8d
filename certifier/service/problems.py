"""What is wrong with a request, said once and shown in any language.

A refused request carries every `Problem` found, each a stable code, its parameters and where it
is (a member of the request, a line of a roster, an entry of an archive). The API answers them in
English as ``"where: message"`` strings and, beside them, as codes; the console shows them in the
registrar's language. The words are in locales/problems.json, one entry per code, French beside English.

Two kinds of problem, two statuses: a value of the wrong shape (a type, a pattern, an unknown
field: what the OpenAPI document states) is a 400; a well-formed value the service cannot act on
(a date out of range, validUntil before validFrom, a kind this issuer is not accredited for, a
roster line or an archive entry that is refused) is a 422. A request with both gets 400 and all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from certifier.errors import RequestError
from verifier.core.catalogue import Catalogue

WORDS = Catalogue.load("certifier.service", "locales/problems.json")


@dataclass(frozen=True)
class Where:
    """Where a problem is. `path` is a request member (``documents[0].sha256``, ``kind``), or a
    roster column; `place` says whether it is in the request, a roster or an archive."""

    path: str = ""
    place: str = "request"  # request | roster | roster_header | archive
    line: int | None = None
    entry: str | None = None

    def say(self, lang: str) -> str:
        if self.place == "request":
            return self.path
        if self.place == "roster_header":
            return WORDS.text("where.roster_header", lang)
        if self.place == "archive":
            if self.entry is None:
                return WORDS.text("where.archive", lang)
            return WORDS.text("where.archive_entry", lang, entry=self.entry[:80])
        words = WORDS.text("where.roster", lang)
        if self.line is not None:
            words = WORDS.text("where.roster_line", lang, line=self.line)
        return f"{words} {self.path}".strip() if lang == "en" or not self.path else f"{words}, {self.path}"


def at(path: str) -> Where:
    return Where(path)


ROSTER = Where(place="roster")
ROSTER_HEADER = Where(place="roster_header")
ARCHIVE = Where(place="archive")


def roster_line(line: int, column: str = "") -> Where:
    return Where(column, "roster", line)


def archive_entry(name: str) -> Where:
    return Where(place="archive", entry=name)


@dataclass(frozen=True)
class Problem:
    where: Where
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    #: True for a value of the wrong shape (400), False for a well-formed one refused (422).
    malformed: bool = True

    def say(self, lang: str = "en") -> str:
        where = self.where.say(lang)
        words = WORDS.text(f"problem.{self.code}", lang, **self.params)
        return f"{where}{' : ' if lang == 'fr' else ': '}{words}" if where else words

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "where": self.where.say("en")}
        if self.params:
            out["params"] = self.params
        return out


class Invalid(RequestError):
    """The request is refused, with every problem found; `status` is 400 if any is malformed, else 422."""

    def __init__(self, problems: list[Problem]) -> None:
        self.found = problems
        self.status = 400 if any(p.malformed for p in problems) else 422
        super().__init__("; ".join(p.say() for p in problems))

    @property
    def problems(self) -> list[str]:
        return [p.say() for p in self.found]

    def say(self, lang: str) -> list[str]:
        return [p.say(lang) for p in self.found]


class Problems:
    """The problems found so far in one request; `raise_if_any` refuses it with all of them."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    @property
    def items(self) -> list[str]:
        """The problems in English, as the API says them."""
        return [p.say() for p in self.found]

    def add(self, where: Where | str, code: str, **params: Any) -> None:
        """A value of the wrong shape (400)."""
        self.found.append(Problem(at(where) if isinstance(where, str) else where, code, params, True))

    def reject(self, where: Where | str, code: str, **params: Any) -> None:
        """A well-formed value the service cannot act on (422)."""
        self.found.append(Problem(at(where) if isinstance(where, str) else where, code, params, False))

    def extend(self, other: Problems, *, content: bool = False) -> None:
        """Add `other`'s problems; with `content`, every one as a 422 (what an uploaded file holds
        is content, whatever its shape: the request around it was well-formed)."""
        self.found.extend(replace(p, malformed=False) if content else p for p in other.found)

    def paths(self) -> set[str]:
        """The request members that have a problem (a member inside one counts for it too)."""
        out = set()
        for p in self.found:
            path = p.where.path if p.where.place == "request" else ""
            while path:
                out.add(path)
                path = path.rpartition(".")[0]
        return out

    def without_refused(self, values: dict[str, Any] | None, under: str = "") -> dict[str, Any]:
        """`values` (the members of the request, or of its member `under`) less those that already
        have a problem, so that the checks of what they mean run only on values of the right shape."""
        refused = self.paths()
        return {k: v for k, v in (values or {}).items() if (f"{under}.{k}" if under else k) not in refused}

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_if_any(self) -> None:
        if self.found:
            raise Invalid(list(self.found))
