"""Issuing: fingerprint files, anchor them as one batch, write one receipt per file (or every
receipt into one ZIP archive, for large runs)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from certifier.chain.deployment import Deployment, registry_contract
from certifier.chain.fingerprinting import check_files, fingerprint_all
from certifier.chain.merkle_batch import MerkleBatch
from certifier.chain.receipts_archive import RECEIPT_SUFFIX, ReceiptsArchive
from certifier.chain.transactions import Sender, Sent
from verifier.core.errors import DocumentError
from verifier.core.receipt import Receipt

__all__ = ["ReceiptsArchive", "check_files", "fingerprint_all"]  # re-exported from their light modules


@dataclass(frozen=True)
class Issued:
    #: each document's receipt: its file, or its member's name in `archive`
    receipts: list[tuple[Path, Receipt]]
    sent: Sent
    batch: MerkleBatch
    archive: Path | None = None


def receipt_path(document: Path, out_dir: Path | None) -> Path:
    name = document.name + RECEIPT_SUFFIX
    return (out_dir / name) if out_dir else document.with_name(name)


def anchor_batch(w3: Web3, deployment: Deployment, account: LocalAccount, batch: MerkleBatch) -> Sent:
    contract = registry_contract(w3, deployment.registry)
    call = contract.functions.anchor(batch.root, len(batch.leaves), batch.kind)
    return Sender(w3, contract, account).send(call, f"anchoring a batch of {len(batch.leaves)} documents")


def anchor_with_receipts(
    w3: Web3, deployment: Deployment, account: LocalAccount, batch: MerkleBatch
) -> tuple[Sent, list[Receipt]]:
    """Anchor the batch, and every leaf's receipt (its proof, and where and by whom it was anchored)."""
    sent = anchor_batch(w3, deployment, account, batch)
    return sent, batch.receipts(
        chain_id=deployment.chain_id,
        registry=deployment.registry,
        transaction_hash=sent.transaction_hash,
        block_number=sent.block_number,
        block_hash=sent.block_hash,
        issuer_key=account.address,
    )


def write_receipt(path: Path, receipt: Receipt) -> None:
    write_receipts([(path, receipt)])


WRITERS = 8  # threads flushing receipts to the disk


def write_receipts(items: Sequence[tuple[Path, Receipt]]) -> None:
    """Write each receipt to a temporary name and flush it to the disk, then rename them all and
    flush their folders: when this returns, every receipt is on the disk, whole, under its name.
    The documents are anchored by then, and a receipt lost in a crash (its salt was random) would
    leave its document unverifiable. A receipt is never seen half-written. The flushes run on
    WRITERS threads (each fsync waits on the disk, not on Python; the file system joins their
    journal commits): 10,000 receipts took 0.4 to 1.2 s more than unflushed ones on this disk.
    Renaming only after every write is also much faster on ext4 than renaming each file at once."""
    temps = [(path.with_name(path.name + ".tmp"), path, receipt) for path, receipt in items]
    try:
        with ThreadPoolExecutor(WRITERS, thread_name_prefix="receipts") as pool:
            list(pool.map(_write_flushed, temps))
        for tmp, path, _ in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    for folder in {path.parent for _, path, _ in temps}:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)  # the renames themselves
        finally:
            os.close(fd)


def _write_flushed(item: tuple[Path, Path, Receipt]) -> None:
    tmp, _, receipt = item
    with tmp.open("w", encoding="utf-8") as f:
        f.write(receipt.to_json())
        f.flush()
        os.fsync(f.fileno())


def issue_files(
    w3: Web3,
    deployment: Deployment,
    account: LocalAccount,
    paths: Sequence[Path],
    *,
    kind: int,
    valid_from: int,
    valid_until: int = 0,
    out_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    digests: Sequence[bytes] | None = None,
    fields: Sequence[bytes] | None = None,
    archive: ReceiptsArchive | None = None,
) -> Issued:
    """Anchor `paths` as one batch and write their receipts (beside each file, into `out_dir`, or
    into `archive`); `fields`: each document's displayed fields' SHA-256 (verifier.core.fields),
    bound in its leaf."""
    if not paths:
        raise DocumentError("no files to issue")
    if out_dir is not None and archive is None:
        if out_dir.exists() and not out_dir.is_dir():
            raise DocumentError(f"{out_dir}: --out must be a directory")
        out_dir.mkdir(parents=True, exist_ok=True)
    digests = fingerprint_all(paths, progress) if digests is None else digests
    batch = MerkleBatch.build(digests, kind, valid_from, valid_until, fields=fields)
    sent, receipts = anchor_with_receipts(w3, deployment, account, batch)
    if archive is not None:
        members = [(ReceiptsArchive.member(path), receipt) for path, receipt in zip(paths, receipts, strict=True)]
        archive.write(members)
        return Issued([(Path(name), receipt) for name, receipt in members], sent, batch, archive.target)
    written = [(receipt_path(path, out_dir), receipt) for path, receipt in zip(paths, receipts, strict=True)]
    write_receipts(written)
    return Issued(written, sent, batch)
