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
    @click.argument("file", type=click.Path(path_type=Path))
    @click.option(
        "--receipt", "receipt_path", type=click.Path(path_type=Path), help="Receipt [default: FILE.receipt.json]."
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
    @click.option("--rpc-url", "rpc_url_opt", default=None, help="JSON-RPC endpoint [default: $SCEAU_RPC_URL].")
    def verify_command(file: Path, receipt_path: Path | None, as_json: bool, rpc_url_opt: str | None) -> None:
        """Verify FILE against its receipt and the chain.

        Exit codes: 0 valid, 1 not authentic, 2 revoked, 3 expired, 4 could not decide."""
        from .service import verify_path

        try:
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


def main() -> None:
    make_verify_command()()
