"""`sceau revoke`: revoking documents, given as files (their receipts beside them) or receipts.

Apart from issuing.py because its `--reason` choices come from `verifier.chain.Reason`, whose
module loads web3: `sceau issue` need not wait for that before it starts hashing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from certifier.cli.options import emit
from certifier.cli.resources import chain_w3, unlock_issuer
from verifier.chain import Reason
from verifier.core.errors import DocumentError, InvalidReceipt
from verifier.core.receipt import Receipt


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


@click.command()
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
    _, account = unlock_issuer(issuer_name)
    w3 = chain_w3()
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
    emit(
        as_json, rows, "\n".join(f"revoked {len(r['indices'])} document(s) in tx {r['transactionHash']}" for r in rows)
    )
