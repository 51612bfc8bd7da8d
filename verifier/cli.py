"""``sceau verify`` (also installed alone as ``sceau-verify``): verdict, checks, exit code."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from verifier.config import rpc_url, sceau_home, trust_anchors
from verifier.core.errors import SceauError
from verifier.core.fields import label
from verifier.core.verdict import Outcome, Verdict

_MARKS = {True: "✔", False: "✘", None: "?"}


def cli_language() -> str:
    """French when the locale says so (LC_ALL, LC_MESSAGES, LANG), English otherwise."""
    import os

    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def render(verdict: Verdict, lang: str | None = None) -> str:
    """The verdict for a terminal: headline, the sealed fields, every check, the trust anchor."""
    from verifier.core.messages import message
    from verifier.i18n import CLI, CLI_HEADLINES

    lang = lang or cli_language()
    lines = [CLI_HEADLINES[verdict.outcome.value][lang]]
    if verdict.issuer and verdict.outcome in (Outcome.VALID, Outcome.VALID_REVOCATION_UNCHECKED, Outcome.SEAL_ONLY):
        lines[0] += CLI["issued_by"][lang].format(issuer=verdict.issuer["name"])
    fields = verdict.document.get("fields") or {}
    if fields and verdict.outcome is not Outcome.TAMPERED:
        lines.append("  " + CLI["word_for_word"][lang])
        lines += [f"    {label(k, lang)}: {v}" for k, v in fields.items()]
    if verdict.error:
        lines.append("  " + message(verdict.error_code or "error.other", {}, lang))
        lines.append(f"    ({verdict.error})")
    for check in verdict.checks:
        lines.append(f"  {_MARKS[check.ok]} {check.id}: {check.text(lang)}")
    if verdict.trust_anchor:
        a = verdict.trust_anchor
        lines.append(
            "  " + CLI["trust_anchor"][lang].format(name=a["name"], registry=a["registry"], chain=a["chainId"])
        )
    return "\n".join(lines)


def make_verify_command(default_rpc_url: Callable[[], str] = rpc_url) -> click.Command:
    """The `verify` command; the issuer's CLI passes a default endpoint that knows its local chain."""

    @click.command("verify")
    @click.argument("file", type=click.Path(path_type=Path), required=False)
    @click.option(
        "--receipt", "receipt_path", type=click.Path(path_type=Path), help="Receipt [default: FILE.receipt.json]."
    )
    @click.option("--seal", "seal_text", default=None, help="A seal's text (SC1:…), as a QR scanner reads it.")
    @click.option("--seal-image", type=click.Path(path_type=Path), default=None, help="A photo or scan of a seal.")
    @click.option("--offline", is_flag=True, help="Check a seal without the chain, against --trust-list.")
    @click.option(
        "--trust-list", type=click.Path(path_type=Path), default=None, help="Signed, from `sceau trustlist export`."
    )
    @click.option(
        "--trust-anchors",
        "anchors_path",
        type=click.Path(path_type=Path),
        default=None,
        help="What to trust [default: $SCEAU_TRUST_ANCHORS, else $SCEAU_HOME/trust-anchors.json].",
    )
    @click.option(
        "--bulk",
        type=click.Path(path_type=Path),
        default=None,
        help="Verify every document of a folder, a ZIP or a CSV (file,receipt) in one go.",
    )
    @click.option(
        "--format",
        "report_format",
        type=click.Choice(["json", "csv", "html"]),
        default=None,
        help="Bulk report format [default: a line per document].",
    )
    @click.option("--report", type=click.Path(path_type=Path), default=None, help="Write the bulk report here.")
    @click.option(
        "--jobs",
        type=click.IntRange(min=1),
        default=None,
        help="Processes verifying a --bulk check [default: one per core].",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
    @click.option("--rpc-url", "rpc_url_opt", default=None, help="JSON-RPC endpoint [default: $SCEAU_RPC_URL].")
    def verify_command(
        file: Path | None,
        bulk: Path | None,
        report_format: str | None,
        report: Path | None,
        jobs: int | None,
        receipt_path: Path | None,
        seal_text: str | None,
        seal_image: Path | None,
        offline: bool,
        trust_list: Path | None,
        anchors_path: Path | None,
        as_json: bool,
        rpc_url_opt: str | None,
    ) -> None:
        """Verify FILE (with its receipt, or a certified PDF alone), or a seal, against the chain.

        Exit codes: 0 valid, 1 not authentic, 2 revoked, 3 expired, 4 could not decide, 5 not yet
        valid, 6 authentic offline but revocation not checked, 7 a seal that binds nothing to check
        the paper against."""
        from verifier import limits
        from verifier.service import Verifier

        try:
            # the public endpoints' bounds (SCEAU_MAX_…) hold here too, until the command ends
            click.get_current_context().with_resource(limits.applied(limits.Limits.from_env()))
            anchors = trust_anchors(anchors_path)
            trust = None
            if trust_list is not None:  # imported only then: eth-account takes most of a second to import
                from verifier.trustlist import load_trust_list

                trust = load_trust_list(trust_list, anchors, sceau_home())
            verifier = Verifier(anchors, rpc_url_opt or default_rpc_url(), trust_list=trust)
            if bulk is not None:
                _verify_bulk(bulk, report_format or ("json" if as_json else None), report, verifier, jobs)
            if seal_text is not None or seal_image is not None:
                verdict = _verify_seal(seal_text, seal_image, offline, verifier)
            elif file is None:
                raise SceauError("give a FILE to verify, or --seal / --seal-image")
            else:
                verdict = verifier.verify_path(file, receipt_path)
        except SceauError as exc:
            if as_json:
                click.echo(json.dumps({"verdict": "error", "error": str(exc), "checks": []}))
            else:
                click.echo(f"error: {exc}", err=True)
            sys.exit(4)
        click.echo(json.dumps(verdict.to_dict(), indent=2) if as_json else render(verdict))
        sys.exit(verdict.exit_code)

    return verify_command


def _verify_bulk(source: Path, report_format: str | None, report: Path | None, verifier: Any, jobs: int | None) -> None:
    """Verify a folder, ZIP or CSV list, the report written line by line as verdicts come (to
    --report, or standard output), then exit with the most serious verdict's code. A check of
    more than one chunk of documents is shared between `jobs` processes (one per core unless
    asked), which send back their rows of the report: 10,000 documents took 0.96 to 1.12 s with
    two processes on two cores, against 1.41 to 1.52 s with one (scripts/bench_verify.py). A
    failure that stops the report (a process gone) exits 4, and removes the --report file."""
    import gc

    from verifier import bulk

    # A bulk run makes ~20 objects a document that live until its chunk is reported: with the
    # collector's default thresholds, full collections then walk the whole heap again and again
    # (a fifth of the run). The modules' objects are frozen out of it; full collections are rarer.
    gc.freeze()
    gc.set_threshold(700, 10, 100)
    try:
        items = bulk.collect(source)
    except SceauError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(4)
    fmt = report_format or "lines"
    lang = cli_language() if fmt == "html" else "en"  # CSV headers stay English: scripts read them
    chunks = -(-len(items) // bulk.CHUNK_ITEMS)
    processes = max(1, min(jobs or os.cpu_count() or 1, chunks))
    lines = bulk.report_stream(items, verifier, fmt, lang, processes=processes)
    try:
        if report is not None:
            try:
                with report.open("w", encoding="utf-8", newline="") as out:
                    tally = bulk.write_report(lines, fmt, out, lang)
            except BaseException:
                _remove_cut_short(report)
                raise
            click.echo(f"{tally.documents} documents verified; report written to {report}", err=True)
        else:
            tally = bulk.write_report(lines, fmt, sys.stdout, lang)
    except SceauError as exc:
        click.echo(f"error: {exc}" + (f" (the report {report} was left out)" if report is not None else ""), err=True)
        sys.exit(4)
    sys.exit(tally.exit_code)


def _remove_cut_short(report: Path) -> None:
    """Remove a --report file cut short, which must not pass for a whole one: the file itself,
    through a symbolic link, and only a regular file (never /dev/null, a pipe or a device)."""
    target = report.resolve()
    try:
        if stat.S_ISREG(target.lstat().st_mode):
            target.unlink()
    except FileNotFoundError:
        pass


def _verify_seal(text: str | None, image: Path | None, offline: bool, verifier: Any) -> Verdict:
    from verifier.core.seal import Seal
    from verifier.qr import decode_qr_image
    from verifier.verify_seal import verify_seal

    if image is not None:
        text = decode_qr_image(image)
    assert text is not None
    if offline and verifier.trust_list is None:
        raise SceauError("--offline needs --trust-list (the root authority's signed list: `sceau trustlist export`)")
    return verify_seal(Seal.decode(text), verifier, offline=offline)


def main() -> None:
    make_verify_command()()
