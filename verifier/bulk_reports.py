"""The reports of a bulk verification: JSON, CSV and printable HTML, written a line at a time as
verdicts come (`write_report`), so that a 100,000-document report never sits whole in memory and
its first lines are out while the rest is being verified. Codes for machines, words in the asked
language for people, dates ISO 8601 UTC; file names neutralised against CSV formula injection and
escaped in HTML."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from verifier.core.verdict import Check, Outcome, Verdict


@dataclass(frozen=True, slots=True)
class Line:
    """One document's verdict, under the name it had in the folder, archive or request."""

    name: str
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Rendered:
    """One document's piece of a report, rendered where its verdict was decided (a bulk worker
    process, verifier/bulk_processes.py: sending a piece of text costs the parent far less than
    a verdict), and its outcome, which the report's tally counts."""

    outcome: Outcome
    piece: str


COLUMNS = ("file", "verdict", "result", "issuer", "kind", "anchoredAt", "revocation", "sha256", "code", "detail")
FORMATS = ("lines", "json", "csv", "html")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MARKS = {True: "✔", False: "✘"}

#: How serious each outcome is for a bulk check's exit code: 0 when every document is valid.
_SERIOUSNESS = {
    Outcome.VALID: 0,
    Outcome.EXPIRED: 1,
    Outcome.NOT_YET_VALID: 1,
    Outcome.VALID_REVOCATION_UNCHECKED: 1,
    Outcome.SEAL_ONLY: 1,
    Outcome.REVOKED: 2,
    Outcome.TAMPERED: 3,
    Outcome.UNKNOWN: 3,
    Outcome.UNTRUSTED_ISSUER: 3,
    Outcome.ERROR: 4,
}


@dataclass
class Tally:
    """What a streamed report counted: documents per outcome, and the most serious outcome."""

    counts: dict[str, int] = field(default_factory=dict)
    worst: Outcome = Outcome.VALID

    def add(self, verdict: Verdict) -> None:
        self.count(verdict.outcome)

    def count(self, outcome: Outcome) -> None:
        self.counts[outcome.value] = self.counts.get(outcome.value, 0) + 1
        if _SERIOUSNESS[outcome] > _SERIOUSNESS[self.worst]:
            self.worst = outcome

    @property
    def documents(self) -> int:
        return sum(self.counts.values())

    @property
    def exit_code(self) -> int:
        """0 when every document is valid; otherwise the most serious single-verification code."""
        return self.worst.exit_code


def iso_utc(ts: int | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC date-time (2026-07-01T09:30:00Z), as reports show them."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def _said(v: Verdict) -> Check | None:
    """The check a person should read about `v`: the first that failed, else the validity period."""
    failed = [c for c in v.checks if c.ok is False]
    if failed:
        return failed[0]
    return next((c for c in v.checks if c.id == "expiry"), None)


def report_row(line: Line, lang: str = "en") -> dict[str, Any]:
    """A document's row: codes for machines (verdict, code, revocation reason), words in `lang`
    for people (result, detail), ISO 8601 UTC dates. Technical error details stay in the JSON report."""
    from verifier.core.messages import message
    from verifier.i18n import KIND_NOUNS, VERDICTS

    v = line.verdict
    if v.outcome is Outcome.ERROR:
        code, detail = v.error_code or "error.other", message(v.error_code or "error.other", {}, lang)
    else:
        said = _said(v)
        code, detail = (said.code, said.text(lang)) if said else ("", "")
    kind = v.document.get("kind")
    return {
        "file": line.name,
        "verdict": v.outcome.value,
        "result": VERDICTS[v.outcome.value][lang],
        "issuer": (v.issuer or {}).get("name"),
        "kind": KIND_NOUNS.get(kind, {}).get(lang, kind) if kind else None,
        "anchoredAt": iso_utc((v.anchor or {}).get("anchoredAt")),
        "revocation": (v.revocation or {}).get("reason"),
        "sha256": v.sha256,
        "code": code,
        "detail": detail,
    }


def report_rows(lines: Iterable[Line], lang: str = "en") -> list[dict[str, Any]]:
    return [report_row(line, lang) for line in lines]


def neutralised(value: Any) -> Any:
    """A cell a spreadsheet shows as text: one starting like a formula (a file named
    ``=HYPERLINK(…)``) gets a leading apostrophe, as OWASP advises against CSV injection."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def request_language(request: Any) -> str:
    """The HTML report's language for an HTTP request: ``?lang=``, the ``lang`` cookie, Accept-Language."""
    from verifier.i18n import pick_language

    return pick_language(request.args.get("lang"), request.cookies.get("lang"), request.accept_languages)


# ---------------------------------------------------------------- streamed reports


def report_chunks(lines: Iterable[Line | Rendered], fmt: str, tally: Tally, lang: str = "en") -> Iterator[str]:
    """The report in `fmt` (lines, json, csv, html) as pieces of text, each document's as soon as
    its verdict comes (or its piece, rendered elsewhere by `render` in the same format and
    language); `tally` counts them as they pass (the JSON summary and the HTML count come last
    for that reason)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    if fmt == "json":
        yield '{"documents": ['
    elif fmt == "csv":
        yield _csv_row([_report_word(c, lang) for c in COLUMNS])
    elif fmt == "html":
        yield _html_head(lang)
    for line in lines:
        if fmt == "json":  # the separator belongs to the place in the report, not to the document
            yield "\n  " if tally.documents == 0 else ",\n  "
        rendered = line if isinstance(line, Rendered) else render(line, fmt, lang)
        tally.count(rendered.outcome)
        yield rendered.piece
    if fmt == "json":
        summary = {"documents": tally.documents, **tally.counts}
        yield "\n], " + '"summary": ' + json.dumps(summary) + "}\n"
    elif fmt == "html":
        yield _html_foot(tally, lang)


def render(line: Line, fmt: str, lang: str = "en") -> Rendered:
    """A document's piece of a report in `fmt` and `lang` (see report_chunks)."""
    outcome = line.verdict.outcome
    if fmt == "lines":
        piece = f"{_MARKS[outcome is Outcome.VALID]} {outcome.value:16} {line.name}\n"
    elif fmt == "json":
        piece = json.dumps({"file": line.name, **line.verdict.to_dict()})
    elif fmt == "csv":
        row = report_row(line, lang)
        piece = _csv_row([neutralised(row[c]) for c in COLUMNS])
    elif fmt == "html":
        piece = _html_row(line, lang)
    else:
        raise ValueError(f"unknown report format {fmt!r}")
    return Rendered(outcome, piece)


FLUSH_EVERY = 256  # documents: a reader of the file or pipe sees it grow, without a syscall per line


def write_report(lines: Iterable[Line | Rendered], fmt: str, out: TextIO, lang: str = "en") -> Tally:
    """Write the report to `out` as verdicts come, flushed every FLUSH_EVERY documents and at the
    end; what it counted."""
    tally = Tally()
    for piece in report_chunks(lines, fmt, tally, lang):
        out.write(piece)
        if tally.documents % FLUSH_EVERY == 0:
            out.flush()
    out.flush()
    return tally


def _report_word(column: str, lang: str) -> str:
    from verifier.i18n import REPORT

    return REPORT[column][lang]


def _csv_row(values: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


_ROW = (
    '<tr class="{cls}" data-verdict="{verdict}"><td>{file}</td><td>{result}</td><td>{issuer}</td><td>{kind}</td>'
    "<td>{anchored}</td><td>{detail}</td></tr>\n"
)


def _html_row(line: Line, lang: str) -> str:
    from verifier.core.messages import day_of

    row = report_row(line, lang)
    at = (line.verdict.anchor or {}).get("anchoredAt")
    return _ROW.format(
        cls="ok" if line.verdict.outcome is Outcome.VALID else "ko",
        verdict=line.verdict.outcome.value,
        anchored=day_of(at, lang) if at else "",
        **{k: html.escape(str(neutralised(row[k]) or "")) for k in ("file", "result", "issuer", "kind", "detail")},
    )


def _html_head(lang: str) -> str:
    from verifier.i18n import REPORT

    words = {key: html.escape(REPORT[key][lang]) for key in REPORT}
    head = (
        "".join(f'<th scope="col">{words[k].capitalize()}</th>' for k in ("file", "verdict", "issuer", "kind"))
        + f'<th scope="col">{words["anchored"]}</th><th scope="col">{words["detail"].capitalize()}</th>'
    )
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{words["title"]} · Sceau</title>
<style>body{{font:14px system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}}
tr.ko td:nth-child(2){{color:#a4161a;font-weight:700}}tr.ok td:nth-child(2){{color:#0b6b2b;font-weight:700}}
@media print{{body{{margin:0}}}}</style></head><body>
<h1>{words["title"]}</h1>
<table><thead><tr>{head}</tr></thead>
<tbody>
"""


def _html_foot(tally: Tally, lang: str) -> str:
    """The count comes after the table: it is known only once every row is out."""
    from verifier.i18n import REPORT

    summary = html.escape(REPORT["summary"][lang].format(valid=tally.counts.get("valid", 0), total=tally.documents))
    return f"</tbody></table>\n<p>{summary}</p>\n</body></html>\n"


# ---------------------------------------------------------------- whole reports, in memory


def report_json(lines: Sequence[Line]) -> dict[str, Any]:
    tally = Tally()
    for line in lines:
        tally.add(line.verdict)
    return {
        "summary": {"documents": tally.documents, **tally.counts},
        "documents": [{"file": ln.name, **ln.verdict.to_dict()} for ln in lines],
    }


def report_csv(lines: Iterable[Line], lang: str = "en") -> str:
    """A spreadsheet's report: headers and words in `lang` (English by default), the `verdict`
    and `code` columns machine-readable codes whatever the language, dates ISO 8601 UTC."""
    return "".join(report_chunks(lines, "csv", Tally(), lang))


def report_html(lines: Iterable[Line], lang: str = "en") -> str:
    """The printable report, all in `lang` (fr or en)."""
    return "".join(report_chunks(lines, "html", Tally(), lang))


def exit_code(lines: Iterable[Line]) -> int:
    """0 when every document is valid; otherwise the most serious single-verification code."""
    tally = Tally()
    for line in lines:
        tally.add(line.verdict)
    return tally.exit_code
