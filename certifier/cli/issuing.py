"""Anchoring from the command line, without the service: `sceau issue` (files, one batch, one
receipt each, or all of them in one ZIP; with --credential each also a Verifiable Credential) and
`sceau seal` (a title printed on paper: its fields anchored, a signed QR code). `sceau revoke` is in
revoking.py.

`sceau issue` is as fast as the disk allows on large runs, which sets this module's shape: it
imports nothing heavy at load time, starts hashing the files in other processes first, and only
then loads the chain libraries (web3, eth-account: most of a short run's time) and opens the
issuer's key in a thread (scrypt, about a second, which releases the GIL), so that the three
overlap. See README, "Issuance throughput and the store at 1M documents"."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from certifier.cli.options import emit, parse_fields, validity
from verifier.core.kinds import KINDS, kind_code

if TYPE_CHECKING:
    from certifier.chain.fingerprinting import Fingerprints
    from certifier.chain.issuing import ReceiptsArchive
    from verifier.core.receipt import Receipt


@dataclass(frozen=True)
class IssueRun:
    """What `sceau issue` anchored, with or without credentials."""

    w3: Any
    account: Any
    sent: Any
    batch: Any
    receipts: list[tuple[Path, Receipt]]
    credentials: list[Path] = field(default_factory=list)
    archive: Path | None = None


@click.command()
@click.option("--issuer", "issuer_name", required=True, help="Issuer name (see `sceau issuer list`).")
@click.option(
    "--kind", type=click.Choice(list(KINDS)), default=None, help="Document kind [default: the issuer's first]."
)
@click.option("--valid-from", default=None, help="Validity start, ISO date [default: now].")
@click.option(
    "--valid-until", default=None, help="Last day of validity, ISO date (inclusive) [default: never expires]."
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Write receipts here.")
@click.option(
    "--receipts-zip",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write every receipt into this one ZIP archive (FILE.receipt.json members; unzip them beside the "
    "documents to verify) instead of one file each: much faster for large runs. Written whole or not at all.",
)
@click.option("--certified-pdf", is_flag=True, help="Also write FILE.certified.pdf: receipt attached, seal stamped.")
@click.option(
    "--credential",
    "with_credential",
    is_flag=True,
    help="Also issue each file as a W3C Verifiable Credential in the same batch (FILE.credential.json; "
    "as `sceau credential issue`).",
)
@click.option("--status-url", default=None, help="With --credential: public base URL of status lists.")
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
    receipts_zip: Path | None,
    certified_pdf: bool,
    with_credential: bool,
    status_url: str | None,
    fields: tuple[str, ...],
    seal_position: str,
    as_json: bool,
    files: tuple[Path, ...],
) -> None:
    """Anchor FILES as one batch and write FILE.receipt.json beside each (or into --out, or all
    into --receipts-zip)."""
    from certifier.chain.fingerprinting import Fingerprints, check_files

    displayed = parse_fields(fields)
    if displayed and len(files) != 1:
        raise click.BadParameter(
            "fields describe one document: give one FILE (a roster for a cohort)", param_hint="--field"
        )
    start, until = validity(valid_from, valid_until)
    if receipts_zip is not None:
        if certified_pdf or with_credential or out_dir is not None:
            raise click.BadParameter(
                "writes receipts only: leave out --out, --certified-pdf and --credential", param_hint="--receipts-zip"
            )
        from certifier.chain.receipts_archive import check_member_names

        check_member_names(files)
    if with_credential:
        check_files(files)  # refuse bad files before asking for a passphrase or touching the chain
        issued = _issue_with_credentials(issuer_name, files, displayed, kind, start, until, out_dir, status_url)
    else:
        fingerprints = Fingerprints.start(files)  # checks the files, then hashes them while the rest loads
        try:
            issued = _issue_fingerprinted(
                issuer_name, files, fingerprints, displayed, kind, start, until, out_dir, receipts_zip, as_json
            )
        finally:
            fingerprints.close()
    certified = []
    if certified_pdf:
        from certifier.chain.certified_pdf import certify_and_seal
        from certifier.cli.resources import verifier_url
        from verifier.sniff import is_pdf

        anchored_at = int(issued.w3.eth.get_block(issued.sent.block_number)["timestamp"])
        for path, (receipt_file, receipt) in zip(files, issued.receipts, strict=True):
            data = path.read_bytes()
            if not is_pdf(data):
                continue
            target = receipt_file.with_name(path.stem + ".certified.pdf")
            target.write_bytes(
                certify_and_seal(
                    data,
                    receipt,
                    issued.account.key,
                    anchored_at,
                    fields=displayed,
                    position=seal_position,
                    verifier_url=verifier_url(),
                )
            )
            certified.append(str(target))
    tx = "0x" + issued.sent.transaction_hash.hex()
    where = [f"  {p}" for p, _ in issued.receipts] if issued.archive is None else [f"  receipts in {issued.archive}"]
    emit(
        as_json,
        {
            "root": "0x" + issued.batch.root.hex(),
            "transactionHash": tx,
            "blockNumber": issued.sent.block_number,
            "gasUsed": issued.sent.gas_used,
            "receipts": [str(p) for p, _ in issued.receipts],
            "receiptsArchive": None if issued.archive is None else str(issued.archive),
            "certifiedPdfs": certified,
            "credentials": [str(p) for p in issued.credentials],
        },
        f"anchored {len(files)} document(s) in block {issued.sent.block_number} (tx {tx}, {issued.sent.gas_used} gas)\n"
        + "\n".join(where)
        + "".join(f"\n  {p}" for p in issued.credentials),
    )


def _issue_fingerprinted(
    issuer_name: str,
    files: tuple[Path, ...],
    fingerprints: Fingerprints,
    displayed: dict[str, str],
    kind: str | None,
    start: int,
    until: int,
    out_dir: Path | None,
    receipts_zip: Path | None,
    as_json: bool,
) -> IssueRun:
    """The plain run, while `fingerprints` are being computed: load the chain libraries, open the
    key in a thread, read the deployment, make the archive's temporary file (a folder that cannot
    be written fails here, before anything is anchored), then wait for the digests and the key."""
    from certifier.cli.resources import unlock_issuer_in_background

    # The key's KDF first (its thread releases the GIL), so that it runs beside the imports of the
    # chain libraries, 0.6 s or more of the main thread, instead of after them.
    record, unlocking = unlock_issuer_in_background(issuer_name)
    from eth_account import Account

    from certifier.chain.deployment import current
    from certifier.chain.issuing import ReceiptsArchive, issue_files
    from certifier.cli.resources import chain_w3
    from verifier.core.fields import fields_sha256

    w3 = chain_w3()
    deployment = current(w3)
    archive: ReceiptsArchive | None = ReceiptsArchive(receipts_zip) if receipts_zip is not None else None
    try:
        with click.progressbar(
            length=len(files), label="fingerprinting", file=sys.stderr, hidden=len(files) < 200 or as_json
        ) as bar:
            digests = fingerprints.result(bar.update)
        account = Account.from_key(unlocking.result())
        anchored = issue_files(
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
            archive=archive,
        )
    finally:
        if archive is not None:
            archive.close()
    return IssueRun(w3, account, anchored.sent, anchored.batch, anchored.receipts, archive=anchored.archive)


def _issue_with_credentials(
    issuer_name: str,
    files: tuple[Path, ...],
    displayed: dict[str, str],
    kind: str | None,
    start: int,
    until: int,
    out_dir: Path | None,
    status_url: str | None,
) -> IssueRun:
    """`sceau credential issue` for these files: each file's leaf and its credential's in one batch."""
    from certifier.cli.credentials import anchor_with_credentials

    w3, account, made = anchor_with_credentials(issuer_name, files, displayed, kind, start, until, out_dir, status_url)
    receipts = [(i.receipt_path, i.receipt) for i in made.items]
    return IssueRun(w3, account, made.sent, made.batch, receipts, [i.credential_path for i in made.items])


@click.command()
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
    import segno

    from certifier.chain.deployment import current
    from certifier.chain.issuing import anchor_with_receipts, write_receipt
    from certifier.cli.resources import chain_w3, unlock_issuer, verifier_url
    from verifier.core.fields import fields_sha256
    from verifier.core.seal import make_seal, seal_url

    values = parse_fields(fields)
    start, until = validity(valid_from, valid_until)
    record, account = unlock_issuer(issuer_name)
    w3 = chain_w3()
    deployment = current(w3)
    from certifier.chain.merkle_batch import MerkleBatch

    digest = fields_sha256(values)  # a paper title is nothing but its fields
    batch = MerkleBatch.build(
        [digest], kind_code(kind or record.kinds[0]), start, until, fields=[fields_sha256(values)]
    )
    sent, [receipt] = anchor_with_receipts(w3, deployment, account, batch)
    anchored_at = int(w3.eth.get_block(sent.block_number)["timestamp"])
    text = make_seal(receipt, values, account.key, anchored_at).encode()
    base = verifier_url()
    segno.make(seal_url(base, text) if base else text, error="m", micro=False).save(str(out_png), scale=4, border=4)
    write_receipt(out_png.with_name(out_png.name + ".receipt.json"), receipt)
    emit(
        as_json,
        {"seal": text, "image": str(out_png), "transactionHash": "0x" + sent.transaction_hash.hex()},
        f"sealed in tx 0x{sent.transaction_hash.hex()}: {out_png}\n{text}",
    )
