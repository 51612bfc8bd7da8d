"""The ``sceau`` command line. Every command has --help; those a script would parse have --json.

Errors print one line a person can act on (no traceback) and exit non-zero; `verify` keeps its own
exit codes (0 valid, 1 not authentic, 2 revoked, 3 expired, 4 could not decide)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from certifier.config import home
from certifier.keys import keystore
from verifier.chain import Reason
from verifier.cli import make_verify_command
from verifier.core.errors import DocumentError, InvalidReceipt, SceauError
from verifier.core.kinds import KINDS, kind_code, mask_names
from verifier.core.receipt import Receipt


class SceauGroup(click.Group):
    """Turns any SceauError into `error: …` on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SceauError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


def _emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)


def _w3() -> Any:
    from certifier.chain.deployment import connect
    from certifier.chain.localchain import effective_rpc_url

    return connect(effective_rpc_url())


def _passphrase(confirm: bool = False) -> str:
    value = os.environ.get("SCEAU_KEY_PASSPHRASE")
    if value:
        return value
    result: str = click.prompt("Keystore passphrase", hide_input=True, confirmation_prompt=confirm)
    return result


def _parse_date(value: str | None, *, end_of_day: bool) -> int:
    """ISO date (inclusive: a document valid until 2031-06-30 expires at the start of 2031-07-01 UTC)
    or ISO date-time. Returns Unix seconds."""
    if value is None:
        return 0
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            start = datetime(d.year, d.month, d.day, tzinfo=UTC)
            return int((start + timedelta(days=1) if end_of_day else start).timestamp())
        dt = datetime.fromisoformat(value)
        return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2031-06-30 or 2031-06-30T12:00:00Z") from None


def _validity(valid_from: str | None, valid_until: str | None) -> tuple[int, int]:
    """(validFrom, validUntil) in Unix seconds from the CLI's dates; validUntil 0: never expires."""
    start = _parse_date(valid_from, end_of_day=False) if valid_from else int(time.time())
    until = _parse_date(valid_until, end_of_day=True)
    if until and until <= start:
        raise click.BadParameter("--valid-until must be after --valid-from")
    return start, until


@click.group(cls=SceauGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sceau")
def cli() -> None:
    """Sceau: certify documents on an Ethereum-compatible chain and verify them from the chain alone."""


# ---------------------------------------------------------------- chain


@cli.group()
def chain() -> None:
    """Run the local development chain (anvil)."""


@chain.command("up")
@click.option("--port", default=8545, show_default=True, help="JSON-RPC port.")
@click.option(
    "--block-time", type=int, default=None, help="Mine a block every N seconds (default: on each transaction)."
)
@click.option("--json", "as_json", is_flag=True)
def chain_up(port: int, block_time: int | None, as_json: bool) -> None:
    """Start anvil in the background, its state kept under $SCEAU_HOME/chain. Idempotent."""
    from certifier.chain.localchain import up

    proc = up(port, block_time=block_time)
    _emit(
        as_json,
        {"pid": proc.pid, "url": proc.url, "state": str(proc.state_file)},
        f"local chain running at {proc.url} (pid {proc.pid}, state {proc.state_file})",
    )


@chain.command("down")
def chain_down() -> None:
    """Stop the local chain; its state is kept for the next `sceau chain up`."""
    from certifier.chain.localchain import down

    click.echo("local chain stopped, state kept" if down() else "the local chain was not running")


@chain.command("status")
@click.option("--json", "as_json", is_flag=True)
def chain_status(as_json: bool) -> None:
    """Say whether the local chain runs, and where."""
    from certifier.chain.localchain import running

    proc = running()
    _emit(
        as_json,
        {"running": proc is not None, "url": proc.url if proc else None},
        f"running at {proc.url} (pid {proc.pid})" if proc else "not running",
    )


# ---------------------------------------------------------------- deploy


@cli.command()
@click.option(
    "--predecessor",
    default=None,
    metavar="ADDRESS",
    help="Deploy a new registry succeeding the one at ADDRESS (even if one is recorded).",
)
@click.option(
    "--admin-delay",
    type=click.IntRange(min=0),
    default=None,
    help="Seconds between beginning and accepting a transfer of the root role "
    "[default: SCEAU_ADMIN_DELAY, or 0 on the dev chain and 2 days elsewhere].",
)
@click.option("--json", "as_json", is_flag=True)
def deploy(predecessor: str | None, admin_delay: int | None, as_json: bool) -> None:
    """Deploy the registry unless it is already deployed on this chain, and record where it is."""
    from dataclasses import asdict

    from certifier.chain.deployment import deploy as do_deploy

    record, created = do_deploy(_w3(), predecessor=predecessor, admin_delay=admin_delay)
    _emit(
        as_json,
        {**asdict(record), "created": created},
        f"{'deployed' if created else 'already deployed'}: registry {record.registry} on chain {record.chain_id}"
        + (f", succeeding {record.predecessor}" if created and record.predecessor else ""),
    )


# ---------------------------------------------------------------- accreditors


@cli.group()
def accreditor() -> None:
    """Name accreditors (as the root authority)."""


@accreditor.command("add")
@click.argument("name")
@click.argument("address")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    required=True,
    type=click.Choice(list(KINDS)),
    help="Document kind it may accredit issuers for (repeatable).",
)
@click.option("--json", "as_json", is_flag=True)
def accreditor_add(name: str, address: str, kinds: tuple[str, ...], as_json: bool) -> None:
    """Name the account ADDRESS accreditor NAME, accredited for the given kinds (naming it again
    replaces its name and kinds)."""
    from certifier.chain.issuers import name_accreditor

    block = name_accreditor(_w3(), name, address, kinds)
    _emit(
        as_json,
        {"name": name, "address": address, "kinds": list(kinds), "blockNumber": block},
        f"accreditor {name!r} ({address}) may accredit issuers for: {', '.join(kinds)}",
    )


# ---------------------------------------------------------------- issuers


@cli.group()
def issuer() -> None:
    """Create, suspend and list issuers."""


@issuer.command("create")
@click.argument("name")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    required=True,
    type=click.Choice(list(KINDS)),
    help="Document kind it may certify (repeatable).",
)
@click.option("--id", "identifier", default=None, help="Official identifier (UAI code, SIREN…).")
@click.option("--no-accredit", is_flag=True, help="Fund the key but do not accredit it.")
@click.option(
    "--hsm",
    "hsm_token",
    default=None,
    metavar="TOKEN",
    help="Generate the key in this PKCS#11 token (an HSM; PIN from SCEAU_PKCS11_PIN or prompted).",
)
@click.option(
    "--pkcs11-module",
    default=None,
    help="The HSM's PKCS#11 library [default: SCEAU_PKCS11_MODULE, else SoftHSM2's].",
)
@click.option(
    "--keep-secret/--no-keep-secret",
    default=True,
    show_default=True,
    help="Keep the passphrase (or PIN) in $SCEAU_HOME/secrets.toml (0600) for the worker.",
)
@click.option("--json", "as_json", is_flag=True)
def issuer_create(
    name: str,
    kinds: tuple[str, ...],
    identifier: str | None,
    no_accredit: bool,
    hsm_token: str | None,
    pkcs11_module: str | None,
    keep_secret: bool,
    as_json: bool,
) -> None:
    """Create issuer NAME with a new key: in an encrypted keystore, or in an HSM with --hsm.

    The anchoring worker opens each issuer's key with its own secret, kept in
    $SCEAU_HOME/secrets.toml (readable by the service's user only); a passphrase equal to
    SCEAU_KEY_PASSPHRASE is not copied there. On the local dev chain the root authority funds the
    key and accredits it."""
    from certifier.chain.issuers import create_issuer
    from certifier.keys.custody import DEFAULT_PKCS11_MODULE, store_secret

    w3 = _w3()
    make_key = None
    secret: tuple[str, str] | None = None
    if hsm_token:
        from certifier.keys import hsm

        module = pkcs11_module or os.environ.get("SCEAU_PKCS11_MODULE") or DEFAULT_PKCS11_MODULE
        pin = os.environ.get("SCEAU_PKCS11_PIN") or click.prompt(f"PIN of token {hsm_token}", hide_input=True)
        label = f"sceau-{keystore.slug(name)}"

        def make_key(n: str, ident: str, k: tuple[str, ...]) -> keystore.IssuerKey:
            address = hsm.generate_key(module, hsm_token, pin, label)
            return keystore.create_hsm(n, ident, k, address, {"module": module, "token": hsm_token, "label": label})

        passphrase, secret = "", ("pin", pin) if pin != os.environ.get("SCEAU_PKCS11_PIN") else None
    else:
        passphrase = _passphrase(confirm=True)
        if passphrase != os.environ.get("SCEAU_KEY_PASSPHRASE"):
            secret = ("passphrase", passphrase)
    record = create_issuer(w3, name, kinds, identifier, passphrase, accredit=not no_accredit, make_key=make_key)
    kept = store_secret(record.name, *secret) if secret and keep_secret else None
    _emit(
        as_json,
        {
            "name": record.name,
            "address": record.address,
            "issuerId": record.issuer_id,
            "identifier": record.identifier,
            "kinds": list(record.kinds),
            "hsm": record.hsm,
            "secretKeptIn": str(kept) if kept else None,
        },
        f"issuer {record.name!r} key {record.address}"
        + (f" (in HSM token {hsm_token!r})" if hsm_token else "")
        + (f", accredited as issuer #{record.issuer_id}" if record.issuer_id else ", not accredited")
        + (f"; its secret is kept for the worker in {kept}" if kept else ""),
    )


@issuer.command("suspend")
@click.argument("name")
@click.option("--reason", required=True, help="Why (kept on chain).")
@click.option("--since", default=None, help="Back-date the suspension to this date-time (a compromise).")
def issuer_suspend(name: str, reason: str, since: str | None) -> None:
    """Suspend issuer NAME: anchors from then on stop counting."""
    from certifier.chain.issuers import suspend_issuer

    issuer_id = suspend_issuer(_w3(), name, reason, since=_parse_date(since, end_of_day=False) if since else None)
    click.echo(f"issuer {name!r} (#{issuer_id}) suspended: {reason}")


@issuer.command("list")
@click.option("--json", "as_json", is_flag=True)
def issuer_list(as_json: bool) -> None:
    """List the issuers whose keys are here, with their status on chain."""
    from certifier.chain.issuers import list_issuers

    rows: list[dict[str, Any]] = []
    for record, info, balance in list_issuers(_w3()):
        rows.append(
            {
                "name": record.name,
                "identifier": record.identifier,
                "address": record.address,
                "issuerId": record.issuer_id,
                "kinds": mask_names(info.kinds) if info else list(record.kinds),
                "status": "not accredited" if info is None else ("suspended" if info.suspended else "accredited"),
                "accreditor": info.accreditor_name if info else None,
                "balanceWei": balance,
            }
        )
    text = (
        "\n".join(
            f"{r['name']:30} {r['status']:15} {r['address']}  {', '.join(r['kinds'])}  {r['balanceWei'] / 1e18:.4f} ETH"
            for r in rows
        )
        or "no issuers yet: create one with `sceau issuer create`"
    )
    _emit(as_json, rows, text)


# ---------------------------------------------------------------- issue and revoke


def _unlock(name: str) -> Any:
    record = keystore.load(name)
    if record.issuer_id is None:
        click.echo(
            f"warning: issuer {name!r} is not accredited on chain; the registry will refuse its anchors", err=True
        )
    return record, record.unlock(_passphrase())


@cli.command()
@click.option("--issuer", "issuer_name", required=True, help="Issuer name (see `sceau issuer list`).")
@click.option(
    "--kind", type=click.Choice(list(KINDS)), default=None, help="Document kind [default: the issuer's first]."
)
@click.option("--valid-from", default=None, help="Validity start, ISO date [default: now].")
@click.option(
    "--valid-until", default=None, help="Last day of validity, ISO date (inclusive) [default: never expires]."
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Write receipts here.")
@click.option("--certified-pdf", is_flag=True, help="Also write FILE.certified.pdf: receipt attached, seal stamped.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="A field printed on the document (holder, degree, number…), bound on chain and shown by its seal; "
    "repeatable; for one FILE (use a roster for a cohort).",
)
@click.option(
    "--seal-position",
    type=click.Choice(["bottom-right", "bottom-left", "top-right", "top-left"]),
    default="bottom-right",
    show_default=True,
    help="Where the QR seal goes on page 1.",
)
@click.option("--json", "as_json", is_flag=True)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def issue(
    issuer_name: str,
    kind: str | None,
    valid_from: str | None,
    valid_until: str | None,
    out_dir: Path | None,
    certified_pdf: bool,
    fields: tuple[str, ...],
    seal_position: str,
    as_json: bool,
    files: tuple[Path, ...],
) -> None:
    """Anchor FILES as one batch and write FILE.receipt.json beside each (or into --out)."""
    from certifier.chain.deployment import current
    from certifier.chain.issuing import check_files, fingerprint_all, issue_files
    from verifier.core.fields import fields_sha256

    check_files(files)  # refuse bad files before asking for a passphrase or touching the chain
    displayed = _parse_fields(fields)
    if displayed and len(files) != 1:
        raise click.BadParameter(
            "fields describe one document: give one FILE (a roster for a cohort)", param_hint="--field"
        )
    start, until = _validity(valid_from, valid_until)
    record, account = _unlock(issuer_name)
    w3 = _w3()
    deployment = current(w3)
    with click.progressbar(
        length=len(files), label="fingerprinting", file=sys.stderr, hidden=len(files) < 200 or as_json
    ) as bar:
        digests = fingerprint_all(files, bar.update)
    issued = issue_files(
        w3,
        deployment,
        account,
        files,
        kind=kind_code(kind or record.kinds[0]),
        valid_from=start,
        valid_until=until,
        out_dir=out_dir,
        digests=digests,
        fields=[fields_sha256(displayed)] if displayed else None,
    )
    certified = []
    if certified_pdf:
        from certifier.chain.certified_pdf import certify_and_seal
        from verifier.pdf import is_pdf

        anchored_at = int(w3.eth.get_block(issued.sent.block_number)["timestamp"])
        for path, (receipt_file, receipt) in zip(files, issued.receipts, strict=True):
            data = path.read_bytes()
            if not is_pdf(data):
                continue
            target = receipt_file.with_name(path.stem + ".certified.pdf")
            target.write_bytes(
                certify_and_seal(
                    data,
                    receipt,
                    account.key,
                    anchored_at,
                    fields=displayed,
                    position=seal_position,
                    verifier_url=settings_verifier_url(),
                )
            )
            certified.append(str(target))
    tx = "0x" + issued.sent.transaction_hash.hex()
    _emit(
        as_json,
        {
            "root": "0x" + issued.batch.root.hex(),
            "transactionHash": tx,
            "blockNumber": issued.sent.block_number,
            "gasUsed": issued.sent.gas_used,
            "receipts": [str(p) for p, _ in issued.receipts],
            "certifiedPdfs": certified,
        },
        f"anchored {len(files)} document(s) in block {issued.sent.block_number} (tx {tx}, {issued.sent.gas_used} gas)\n"
        + "\n".join(f"  {p}" for p, _ in issued.receipts),
    )


def _parse_fields(items: tuple[str, ...]) -> dict[str, str]:
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


def settings_verifier_url() -> str | None:
    """The public verifier's base URL (``SCEAU_VERIFIER_URL``): seals then hold a link any phone
    camera opens; without it, the bare SC1: text."""
    from certifier.settings import Settings

    return Settings.from_env().verifier_url


def _receipt_for(arg: Path) -> Receipt:
    from verifier.service import read_receipt_file

    if (
        arg.name.endswith(".receipt.json")
        or arg.suffix == ".json"
        and not arg.with_name(arg.name + ".receipt.json").exists()
    ):
        return read_receipt_file(arg)
    if not arg.exists():
        raise DocumentError(f"{arg}: no such file")
    return read_receipt_file(arg.with_name(arg.name + ".receipt.json"))


@cli.command()
@click.option("--issuer", "issuer_name", required=True)
@click.option("--reason", required=True, type=click.Choice([r.slug for r in Reason if r is not Reason.NONE]))
@click.option(
    "--replaced-by",
    type=click.Path(path_type=Path),
    default=None,
    help="Receipt of the document replacing this one (clerical error, superseded).",
)
@click.option("--json", "as_json", is_flag=True)
@click.argument("items", nargs=-1, required=True, type=click.Path(path_type=Path))
def revoke(issuer_name: str, reason: str, replaced_by: Path | None, as_json: bool, items: tuple[Path, ...]) -> None:
    """Revoke documents, given as files (with their receipts beside them) or receipts.

    Documents of one batch are revoked in a single transaction."""
    from certifier.chain.deployment import current
    from certifier.chain.revoking import revoke as do_revoke

    receipts = [_receipt_for(p) for p in items]
    replacement = _receipt_for(replaced_by).leaf if replaced_by else None
    if replacement and len(receipts) != 1:
        raise InvalidReceipt("--replaced-by names the replacement of one document: give exactly one")
    _, account = _unlock(issuer_name)
    w3 = _w3()
    deployment = current(w3)
    for r in receipts:
        if r.chain_id != deployment.chain_id or r.registry.lower() != deployment.registry.lower():
            raise InvalidReceipt(f"a receipt is for chain {r.chain_id} registry {r.registry}, not this deployment")
    done = do_revoke(w3, deployment, account, receipts, Reason.from_slug(reason), replacement)
    rows: list[dict[str, Any]] = [
        {
            "root": "0x" + d.root.hex(),
            "indices": list(d.indices),
            "transactionHash": "0x" + d.sent.transaction_hash.hex(),
            "gasUsed": d.sent.gas_used,
        }
        for d in done
    ]
    _emit(
        as_json, rows, "\n".join(f"revoked {len(r['indices'])} document(s) in tx {r['transactionHash']}" for r in rows)
    )


@cli.command()
@click.option("--issuer", "issuer_name", required=True)
@click.option(
    "--kind", type=click.Choice(list(KINDS)), default=None, help="Document kind [default: the issuer's first]."
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    required=True,
    metavar="NAME=VALUE",
    help="A displayed field (holder, number, birthDate…); repeatable.",
)
@click.option("--valid-from", default=None, help="Validity start, ISO date [default: now].")
@click.option("--valid-until", default=None, help="Last day of validity, ISO date (inclusive).")
@click.option("--out", "out_png", type=click.Path(path_type=Path), required=True, help="The QR code, as PNG.")
@click.option("--json", "as_json", is_flag=True)
def seal(
    issuer_name: str,
    kind: str | None,
    fields: tuple[str, ...],
    valid_from: str | None,
    valid_until: str | None,
    out_png: Path,
    as_json: bool,
) -> None:
    """Seal a title printed on paper: anchor its displayed fields and write a signed QR code.

    Offline, the QR verifies against a trust list; online, against the chain (revocation too)."""
    import hashlib

    import segno

    from certifier.chain.deployment import current
    from certifier.chain.issuing import anchor_batch, write_receipt
    from verifier.core.fields import fields_sha256
    from verifier.core.seal import canonical_fields, make_seal, seal_url

    values = _parse_fields(fields)
    start, until = _validity(valid_from, valid_until)
    record, account = _unlock(issuer_name)
    w3 = _w3()
    deployment = current(w3)
    from certifier.chain.merkle_batch import MerkleBatch

    digest = hashlib.sha256(canonical_fields(values)).digest()
    batch = MerkleBatch.build(
        [digest], kind_code(kind or record.kinds[0]), start, until, fields=[fields_sha256(values)]
    )
    sent = anchor_batch(w3, deployment, account, batch)
    [receipt] = batch.receipts(
        chain_id=deployment.chain_id,
        registry=deployment.registry,
        transaction_hash=sent.transaction_hash,
        block_number=sent.block_number,
        block_hash=sent.block_hash,
        issuer_key=account.address,
    )
    anchored_at = int(w3.eth.get_block(sent.block_number)["timestamp"])
    text = make_seal(receipt, values, account.key, anchored_at).encode()
    base = settings_verifier_url()
    segno.make(seal_url(base, text) if base else text, error="m", micro=False).save(str(out_png), scale=4, border=4)
    write_receipt(out_png.with_name(out_png.name + ".receipt.json"), receipt)
    _emit(
        as_json,
        {"seal": text, "image": str(out_png), "transactionHash": "0x" + sent.transaction_hash.hex()},
        f"sealed in tx 0x{sent.transaction_hash.hex()}: {out_png}\n{text}",
    )


@cli.group()
def trustlist() -> None:
    """The signed trust list of accredited issuer keys, for offline checks of seals."""


@trustlist.command("export")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None, help="File [default: stdout].")
@click.option(
    "--valid-days", type=click.FloatRange(min=0.01, max=366), default=7.0, show_default=True, help="Until next update."
)
def trustlist_export(out_path: Path | None, valid_days: float) -> None:
    """Export every accreditor, issuer and key the registry accredits, with validity periods,
    suspensions and compromise cut-offs, signed by the root authority (``SCEAU_ROOT_KEY``, or the
    dev chain's root)."""
    from certifier.chain.deployment import current, root_account, trust_anchor
    from certifier.chain.localchain import effective_rpc_url
    from verifier.chain import ChainReader
    from verifier.trustlist import export

    deployment = current(_w3())
    reader = ChainReader(effective_rpc_url(), deployment.registry)
    body = export(reader, trust_anchor(deployment), root_account(deployment.chain_id).key, valid_days=valid_days)
    text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    if out_path is None:
        click.echo(text, nl=False)
    else:
        out_path.write_text(text)
        click.echo(f"trust list written to {out_path}", err=True)


def _default_rpc_url() -> str:
    from certifier.chain.localchain import effective_rpc_url

    return effective_rpc_url()


cli.add_command(make_verify_command(_default_rpc_url), "verify")


# ---------------------------------------------------------------- the service


@contextmanager
def _context() -> Iterator[Any]:
    """The service's database and chain, closed when the command ends."""
    from certifier.chain.localchain import effective_rpc_url
    from certifier.service.context import ServiceContext
    from certifier.settings import Settings

    ctx = ServiceContext.create(
        settings=Settings.from_env(),
        db_url=None,
        rpc_url=effective_rpc_url(),
        storage=Path(os.environ.get("SCEAU_STORAGE") or home() / "documents"),
    )
    try:
        yield ctx
    finally:
        ctx.dispose()


def _service() -> Any:
    """The service context for this command, closed by click when the command ends."""
    return click.get_current_context().with_resource(_context())


@cli.group()
def token() -> None:
    """API tokens for the issuer service."""


@token.command("create")
@click.option("--issuer", "issuer_name", required=True)
@click.option("--scope", "scopes", default="issue,revoke,read", show_default=True, help="Comma-separated scopes.")
@click.option("--label", default=None, help="What the token is for.")
@click.option("--json", "as_json", is_flag=True)
def token_create(issuer_name: str, scopes: str, label: str | None, as_json: bool) -> None:
    """Create a token for ISSUER; the secret is printed once and stored only hashed."""
    from certifier.service.auth import create_token, parse_scopes

    record = keystore.load(issuer_name)
    ctx = _service()
    with ctx.sessions() as s:
        row, secret = create_token(s, record.name, parse_scopes(scopes), label)
        s.commit()
    _emit(
        as_json,
        {"id": row.id, "issuer": row.issuer, "scopes": row.scopes.split(","), "token": secret},
        f"token {row.id} for {row.issuer} ({row.scopes}):\n{secret}",
    )


@token.command("list")
@click.option("--json", "as_json", is_flag=True)
def token_list(as_json: bool) -> None:
    """List tokens (never their secrets)."""
    from sqlalchemy import select

    from certifier.store.db import Token

    with _service().sessions() as s:
        rows = [
            {
                "id": t.id,
                "issuer": t.issuer,
                "scopes": t.scopes.split(","),
                "label": t.label,
                "revoked": t.revoked_at is not None,
            }
            for t in s.scalars(select(Token).order_by(Token.created_at))
        ]
    _emit(
        as_json,
        rows,
        "\n".join(
            f"{r['id']}  {r['issuer']:30} {','.join(r['scopes']):20} {'revoked' if r['revoked'] else 'active'}"
            for r in rows
        )
        or "no tokens",
    )


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token: every request with it is refused from now on."""
    from certifier.service.auth import revoke_token

    with _service().sessions() as s:
        revoke_token(s, token_id)
        s.commit()
    click.echo(f"token {token_id} revoked")


@cli.command()
@click.option("--once", is_flag=True, help="Work until nothing is in flight, then exit.")
@click.option("--issuer", "only", multiple=True, help="Only these issuers (repeatable) [default: all].")
def worker(once: bool, only: tuple[str, ...]) -> None:
    """Run the anchoring worker: batch pending documents, anchor them, confirm them, sign their seals.

    Only SIGTERM or SIGINT stops it: a failure holds the issuer it concerns (`sceau status` says
    why), and a chain not reachable yet is waited for. Issuer keys are opened with the secrets in
    $SCEAU_HOME/secrets.toml (or SCEAU_KEY_PASSPHRASE, SCEAU_PKCS11_PIN)."""
    import logging
    import signal
    import threading

    from certifier.chain.deployment import current
    from certifier.chain.rpc import worker_web3
    from certifier.keys.custody import Custody
    from certifier.worker.anchoring import Worker
    from verifier.core.errors import ChainError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    ctx = _service()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    w3 = worker_web3(ctx.rpc_url)
    said, failures = None, 0
    while True:  # the chain may be down when the worker starts: wait for it, saying so once
        try:
            deployment = current(w3)
            break
        except (ChainError, OSError) as exc:
            if once:
                raise ChainError(f"cannot start the worker: {exc}") from None
            failures += 1
            if str(exc) != said:
                logging.getLogger("sceau.worker").warning("cannot start yet: %s (waiting for the chain)", exc)
                said = str(exc)
            if stop.wait(min(ctx.settings.retry_max, ctx.settings.retry_base * 2 ** min(failures, 10))):
                return
    w = Worker(ctx.sessions, w3, deployment, ctx.settings, issuers=set(only) or None, custody=Custody())
    if once:
        w.run_until_idle(timeout=3600)
        return
    click.echo(
        f"worker {w.holder} running (batch of {ctx.settings.batch_size} or every {ctx.settings.batch_seconds:g} s, "
        f"{w.confirmations} confirmation(s))",
        err=True,
    )
    try:
        w.run(stop)
    finally:
        w.release_all()


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """The chain, the workers, the queue, batches in flight, each issuer's balance and what holds it.

    Works with the chain down (and says so)."""
    from sqlalchemy import func, select
    from web3 import Web3

    from certifier.service.health import chain_health, store_health
    from certifier.store.db import AuditEntry, Batch, Document, IssuerState

    ctx = _service()
    chain = chain_health(ctx.rpc_url)
    workers, queue_health = store_health(ctx)
    with ctx.sessions() as s:
        queue = dict(
            s.execute(
                select(Document.issuer, func.count()).where(Document.status == "pending").group_by(Document.issuer)
            ).all()
        )
        flying = list(s.scalars(select(Batch).where(Batch.status.in_(("built", "signed", "sent", "mined")))))
        held = {h.issuer: h for h in s.scalars(select(IssuerState))}
        last = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_(("document.failed", "transaction.failed", "issuer.held")))
            .order_by(AuditEntry.id.desc())
        ).first()
    names = sorted(set(queue) | {b.issuer for b in flying} | set(held) | {r.name for r in keystore.all_issuers()})
    w3 = Web3(Web3.HTTPProvider(ctx.rpc_url, request_kwargs={"timeout": 3})) if chain["reachable"] else None
    issuers = []
    for name in names:
        try:
            address: str | None = keystore.load(name).address
        except SceauError:
            address = None
        balance: int | None = None
        if w3 is not None and address is not None:
            try:
                balance = int(w3.eth.get_balance(Web3.to_checksum_address(address)))
            except Exception:  # noqa: BLE001 - shown as unknown ("?"); the chain line says why
                balance = None
        h = held.get(name)
        issuers.append(
            {
                "name": name,
                "address": address,
                "pending": queue.get(name, 0),
                "balanceWei": balance,
                "held": {"code": h.code, "reason": h.reason, "since": h.since} if h else None,
            }
        )
    last_error = None
    if last is not None and last.detail:
        last_error = f"{last.issuer}: {json.loads(last.detail).get('reason')}"
    data: dict[str, Any] = {
        "chain": chain,
        "worker": workers,
        "queue": queue_health,
        "issuers": issuers,
        "inFlight": [
            {
                "id": b.id,
                "issuer": b.issuer,
                "status": b.status,
                "documents": b.document_count,
                "transactionHash": b.tx_hash,
                "error": b.last_error,
            }
            for b in flying
        ],
        "revocationsInFlight": queue_health["revocationsInFlight"],
        "lastError": last_error,
    }
    lines = [
        f"chain: block {chain['blockNumber']} at {ctx.rpc_url}"
        if chain["reachable"]
        else f"chain: UNREACHABLE at {ctx.rpc_url} ({chain['error']})",
        f"workers: {workers['alive']} alive"
        + (f", last seen {workers['lastSeenSecondsAgo']} s ago" if workers["alive"] else ": NONE running")
        + (f"; it says: {workers['chainError']}" if workers["chainError"] else ""),
    ]
    lines += [
        f"{i['name']:30} pending {i['pending']:>6}  balance "
        + (f"{i['balanceWei'] / 1e18:.4f} ETH" if i["balanceWei"] is not None else "?")
        + (f"  HELD ({i['held']['code']}): {i['held']['reason']}" if i["held"] else "")
        for i in issuers
    ]
    lines += [
        f"batch {b['id']} {b['status']:9} {b['documents']} docs {b['transactionHash'] or ''}"
        + (f"  ({b['error']})" if b["error"] else "")
        for b in data["inFlight"]
    ]
    if queue_health["failedDocuments"]:
        lines.append(f"failed documents: {queue_health['failedDocuments']} (each with its reason in the API)")
    lines.append(f"last error: {data['lastError'] or 'none'}")
    _emit(as_json, data, "\n".join(lines))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--no-worker", is_flag=True, help="Do not start the anchoring worker beside the server.")
@click.option("--debug", is_flag=True, help="Flask's development server, with reloading.")
def serve(host: str, port: int, workers: int, no_worker: bool, debug: bool) -> None:
    """Serve the HTTP API (issuer API, verification, health) with gunicorn, and run the anchoring
    worker beside it, restarted whenever it stops (see certifier/supervisor.py). The web processes
    get no key secret: only the worker does."""
    import logging

    from certifier.worker.supervisor import Supervisor, install_signals

    logging.basicConfig(level=logging.INFO, format="%(asctime)s serve %(levelname)s %(message)s")
    web = [sys.executable, "-m", "certifier.service.server", host, str(port), str(workers)] + (
        ["--debug"] if debug else []
    )
    supervisor = Supervisor(web, None if no_worker else [sys.executable, "-m", "certifier.cli.commands", "worker"])
    install_signals(supervisor.stop)
    click.echo(f"serving on http://{host}:{port}", err=True)
    sys.exit(supervisor.run())


cli.add_command(__import__("certifier.cli.credentials", fromlist=["credential"]).credential)  # CREDENTIAL.md


def main() -> None:
    from certifier.config import private_umask

    private_umask()  # keys, database, documents, chain state: private to this user (config.py)
    cli()


if __name__ == "__main__":
    main()
