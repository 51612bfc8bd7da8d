"""``sceau credential issue|verify|revoke|status-list``: documents as Verifiable Credentials
(CREDENTIAL.md). Registered in commands.py."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from certifier.cli.options import emit, parse_fields, validity
from certifier.cli.resources import ask_passphrase, chain_w3, default_rpc_url
from verifier.chain import Reason
from verifier.core.kinds import KINDS, kind_code

DEFAULT_STATUS_URL = "http://127.0.0.1:8000"


def status_base_url() -> str:
    """Where the issuer service is reached (``SCEAU_PUBLIC_URL``): status lists are served there."""
    return os.environ.get("SCEAU_PUBLIC_URL") or DEFAULT_STATUS_URL


def _open_issuer(name: str) -> tuple[Any, Any, str]:
    """The issuer's record, its unlocked account and the passphrase (asked once: it also opens the
    credential key)."""
    from certifier.keys.keystore import load

    record = load(name)
    passphrase = ask_passphrase()
    return record, record.unlock(passphrase), passphrase


def anchor_with_credentials(
    issuer_name: str,
    files: tuple[Path, ...],
    displayed: dict[str, str],
    kind: str | None,
    start: int,
    until: int,
    out_dir: Path | None,
    status_url: str | None,
) -> tuple[Any, Any, Any]:
    """Each file's leaf and its credential's in one batch, anchored: (w3, account, what was issued).
    The one path of `sceau credential issue` and `sceau issue --credential`."""
    from certifier.chain.deployment import current
    from certifier.credentials.issuing import issue_with_credentials

    record, account, passphrase = _open_issuer(issuer_name)
    w3 = chain_w3()
    issued = issue_with_credentials(
        w3,
        current(w3),
        account,
        record,
        passphrase,
        list(files),
        [displayed] * len(files),
        kind=kind_code(kind or record.kinds[0]),
        valid_from=start,
        valid_until=until,
        status_base_url=status_url or status_base_url(),
        out_dir=out_dir,
    )
    return w3, account, issued


@click.group("credential")
def credential() -> None:
    """Each document also as a W3C Verifiable Credential (Open Badges 3.0 for diplomas)."""


@credential.command("issue")
@click.option("--issuer", "issuer_name", required=True, help="Issuer name (see `sceau issuer list`).")
@click.option("--kind", type=click.Choice(list(KINDS)), default=None, help="[default: the issuer's first].")
@click.option("--valid-from", default=None, help="Validity start, ISO date [default: now].")
@click.option("--valid-until", default=None, help="Last day of validity, ISO date (inclusive).")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="A displayed field; for one FILE.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Write the files here.")
@click.option("--status-url", default=None, help="Public base URL of status lists [default: $SCEAU_PUBLIC_URL].")
@click.option("--json", "as_json", is_flag=True)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def credential_issue(
    issuer_name: str,
    kind: str | None,
    valid_from: str | None,
    valid_until: str | None,
    fields: tuple[str, ...],
    out_dir: Path | None,
    status_url: str | None,
    as_json: bool,
    files: tuple[Path, ...],
) -> None:
    """Anchor FILES with one credential each, in one batch: FILE.receipt.json, FILE.credential.json."""
    displayed = parse_fields(fields)
    if displayed and len(files) != 1:
        raise click.BadParameter("fields describe one document: give one FILE", param_hint="--field")
    start, until = validity(valid_from, valid_until)
    _, _, issued = anchor_with_credentials(issuer_name, files, displayed, kind, start, until, out_dir, status_url)
    rows = [{"document": str(i.document), "credential": str(i.credential_path)} for i in issued.items]
    tx = "0x" + issued.sent.transaction_hash.hex()
    emit(
        as_json,
        {"transactionHash": tx, "blockNumber": issued.sent.block_number, "issued": rows},
        f"anchored {len(rows)} document(s) and their credentials (tx {tx})\n"
        + "\n".join(f"  {r['credential']}" for r in rows),
    )


@credential.command("verify")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--trust-anchors", "anchors_path", type=click.Path(path_type=Path), default=None)
@click.option("--rpc-url", "rpc_url_opt", default=None, help="JSON-RPC endpoint [default: $SCEAU_RPC_URL].")
@click.option("--json", "as_json", is_flag=True)
def credential_verify(file: Path, anchors_path: Path | None, rpc_url_opt: str | None, as_json: bool) -> None:
    """Verify a credential alone (its receipt is inside it); exit codes as `sceau verify`."""
    from verifier.cli import render
    from verifier.config import trust_anchors
    from verifier.core.errors import SceauError
    from verifier.credentials.verify import MAX_CREDENTIAL_BYTES, verify_credential
    from verifier.service import Verifier

    try:
        verifier = Verifier(trust_anchors(anchors_path), rpc_url_opt or default_rpc_url())
    except SceauError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(4)
    try:
        with file.open("rb") as f:
            verdict = verify_credential(f.read(MAX_CREDENTIAL_BYTES + 1), verifier)
    finally:
        verifier.close()
    click.echo(json.dumps(verdict.to_dict(), indent=2) if as_json else render(verdict))
    sys.exit(verdict.exit_code)


@credential.command("revoke")
@click.option("--issuer", "issuer_name", required=True)
@click.option("--reason", required=True, type=click.Choice([r.slug for r in Reason if r is not Reason.NONE]))
@click.argument("items", nargs=-1, required=True, type=click.Path(path_type=Path))
def credential_revoke(issuer_name: str, reason: str, items: tuple[Path, ...]) -> None:
    """Revoke documents and their credentials together (FILE or FILE.credential.json), then
    publish the status lists again."""
    from certifier.chain.deployment import current
    from certifier.credentials.issuing import credential_path, publish_status_lists, revoke_with_credentials
    from certifier.keys.credential_keys import load_or_create

    paths = [p if p.name.endswith(".credential.json") else credential_path(p) for p in items]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise click.BadParameter(f"no credential: {', '.join(missing)}")
    record, account, passphrase = _open_issuer(issuer_name)
    w3 = chain_w3()
    deployment = current(w3)
    done = revoke_with_credentials(w3, deployment, account, [p.read_bytes() for p in paths], Reason.from_slug(reason))
    key, _ = load_or_create(record.name, passphrase)
    publish_status_lists(w3, deployment, record, key)
    for d in done:
        click.echo(f"revoked leaves {list(d.indices)} in tx 0x{d.sent.transaction_hash.hex()}")


@credential.command("status-list")
@click.option("--issuer", "issuer_name", required=True)
def credential_status_list(issuer_name: str) -> None:
    """Rebuild the issuer's status lists from the chain, sign and publish them."""
    from certifier.chain.deployment import current
    from certifier.credentials.issuing import publish_status_lists
    from certifier.keys.credential_keys import load_or_create
    from certifier.keys.keystore import load

    record = load(issuer_name)
    key, _ = load_or_create(record.name, ask_passphrase())
    w3 = chain_w3()
    for path in publish_status_lists(w3, current(w3), record, key):
        click.echo(str(path))
