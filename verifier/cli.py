"""``sceau verify`` (also installed alone as ``sceau-verify``): verdict, checks, exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from .config import rpc_url
from .errors import SceauError
from .verdict import Outcome, Verdict

_MARKS = {True: "✔", False: "✘", None: "?"}
_HEADLINES = {
    Outcome.VALID: "VALID: the document is authentic",
    Outcome.TAMPERED: "NOT AUTHENTIC: the document or its receipt was altered",
    Outcome.UNKNOWN: "NOT AUTHENTIC: the chain does not know this document",
    Outcome.UNTRUSTED_ISSUER: "NOT AUTHENTIC: the issuer was not accredited when it anchored",
    Outcome.REVOKED: "REVOKED by its issuer",
    Outcome.EXPIRED: "EXPIRED",
    Outcome.ERROR: "COULD NOT DECIDE",
}


def render(verdict: Verdict) -> str:
    lines = [_HEADLINES[verdict.outcome]]
    if verdict.issuer and verdict.outcome is Outcome.VALID:
        lines[0] += f", issued by {verdict.issuer['name']}"
    if verdict.error:
        lines.append(f"  {verdict.error}")
    for check in verdict.checks:
        lines.append(f"  {_MARKS[check.ok]} {check.id}: {check.detail}")
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
    @click.option("--trust-list", type=click.Path(path_type=Path), default=None, help="From `sceau trustlist export`.")
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
    @click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
    @click.option("--rpc-url", "rpc_url_opt", default=None, help="JSON-RPC endpoint [default: $SCEAU_RPC_URL].")
    def verify_command(
        file: Path | None,
        bulk: Path | None,
        report_format: str | None,
        report: Path | None,
        receipt_path: Path | None,
        seal_text: str | None,
        seal_image: Path | None,
        offline: bool,
        trust_list: Path | None,
        as_json: bool,
        rpc_url_opt: str | None,
    ) -> None:
        """Verify FILE (with its receipt, or a certified PDF alone), or a seal, against the chain.

        Exit codes: 0 valid, 1 not authentic, 2 revoked, 3 expired, 4 could not decide."""
        from .service import verify_path

        if bulk is not None:
            _verify_bulk(bulk, report_format or ("json" if as_json else None), report, rpc_url_opt or default_rpc_url())
        try:
            if seal_text is not None or seal_image is not None:
                verdict = _verify_seal(seal_text, seal_image, offline, trust_list, rpc_url_opt or default_rpc_url())
            elif file is None:
                raise SceauError("give a FILE to verify, or --seal / --seal-image")
            else:
                verdict = verify_path(file, receipt_path, rpc_url_opt or default_rpc_url())
        except SceauError as exc:
            if as_json:
                click.echo(json.dumps({"verdict": "error", "error": str(exc), "checks": []}))
            else:
                click.echo(f"error: {exc}", err=True)
            sys.exit(4)
        click.echo(json.dumps(verdict.to_dict(), indent=2) if as_json else render(verdict))
        sys.exit(verdict.exit_code)

    return verify_command


def _verify_bulk(source: Path, report_format: str | None, report: Path | None, url: str) -> None:
    from . import bulk

    try:
        lines = bulk.verify_items(bulk.collect(source), url)
    except SceauError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(4)
    if report_format == "json":
        text = json.dumps(bulk.report_json(lines), indent=2) + "\n"
    elif report_format == "csv":
        text = bulk.report_csv(lines)
    elif report_format == "html":
        text = bulk.report_html(lines)
    else:
        text = (
            "\n".join(
                f"{_MARKS[ln.verdict.outcome.value == 'valid']} {ln.verdict.outcome.value:16} {ln.name}" for ln in lines
            )
            + "\n"
        )
    if report is not None:
        report.write_text(text)
        click.echo(f"{len(lines)} documents verified; report written to {report}", err=True)
    else:
        click.echo(text, nl=False)
    sys.exit(bulk.exit_code(lines))


def _verify_seal(text: str | None, image: Path | None, offline: bool, trust_path: Path | None, url: str) -> Verdict:
    from .qr import decode_qr_image
    from .seal import Seal
    from .service import reader_for
    from .trustlist import TrustList
    from .verify_seal import verify_seal

    if image is not None:
        text = decode_qr_image(image)
    assert text is not None
    seal = Seal.decode(text)
    trust = None
    if trust_path is not None:
        if not trust_path.exists():
            raise SceauError(f"{trust_path}: no such trust list")
        trust = TrustList.from_json(trust_path.read_bytes())
    if offline:
        if trust is None:
            raise SceauError("--offline needs --trust-list (export one with `sceau trustlist export`)")
        return verify_seal(seal, trust=trust)
    return verify_seal(seal, reader=reader_for(url, seal.registry))


def main() -> None:
    make_verify_command()()
