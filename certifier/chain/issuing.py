"""Issuing: fingerprint files, anchor them as one batch, write one receipt per file."""

from __future__ import annotations

import multiprocessing
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from certifier.chain.deployment import Deployment, registry_contract
from certifier.chain.merkle_batch import MerkleBatch
from certifier.chain.transactions import Sender, Sent
from verifier.core.errors import DocumentError
from verifier.core.hashing import sha256_file
from verifier.core.receipt import Receipt


@dataclass(frozen=True)
class Issued:
    receipts: list[tuple[Path, Receipt]]
    sent: Sent
    batch: MerkleBatch


def receipt_path(document: Path, out_dir: Path | None) -> Path:
    name = document.name + ".receipt.json"
    return (out_dir / name) if out_dir else document.with_name(name)


def check_files(paths: Sequence[Path]) -> None:
    """Refuse the whole run, naming every bad file, before anything is read or sent."""
    problems: list[str] = []
    seen: set[tuple[int, int]] = set()
    for path in paths:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            problems.append(f"{path}: no such file")
            continue
        except OSError as exc:
            problems.append(f"{path}: cannot be read ({exc.strerror})")
            continue
        if stat.S_ISDIR(st.st_mode):
            problems.append(f"{path}: is a directory, not a document")
        elif st.st_size == 0:
            problems.append(f"{path}: the file is empty")
        if (st.st_dev, st.st_ino) in seen:
            problems.append(f"{path}: given twice")
        seen.add((st.st_dev, st.st_ino))
    if problems:
        raise DocumentError("nothing was issued:\n  " + "\n  ".join(problems))


def fingerprint_all(paths: Sequence[Path], progress: Callable[[int], None] | None = None) -> list[bytes]:
    """SHA-256 of every file, refusing the whole run if any one cannot be used. Large runs hash
    on every core, in processes: threads gain nothing here, the GIL being held between reads."""
    check_files(paths)
    digests: list[bytes] = []
    if len(paths) < 256 or (os.cpu_count() or 1) == 1:
        results: Iterator[bytes] = map(sha256_file, paths)
        for digest in results:
            digests.append(digest)
            if progress:
                progress(1)
        return digests
    context = multiprocessing.get_context("fork") if sys.platform == "linux" else None
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=context) as pool:
        for digest in pool.map(sha256_file, paths, chunksize=128):
            digests.append(digest)
            if progress:
                progress(1)
    return digests


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


def write_receipts(items: Sequence[tuple[Path, Receipt]]) -> None:
    """Write each receipt to a temporary name, then rename them all: a receipt is never seen
    half-written. (Renaming only after every write is also much faster on ext4 than renaming
    each file right after writing it.)"""
    temps = []
    try:
        for path, receipt in items:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(receipt.to_json())
            temps.append((tmp, path))
        for tmp, path in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise


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
) -> Issued:
    """Anchor `paths` as one batch and write their receipts; `fields`: each document's displayed
    fields' SHA-256 (verifier.core.fields), bound in its leaf."""
    if not paths:
        raise DocumentError("no files to issue")
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise DocumentError(f"{out_dir}: --out must be a directory")
        out_dir.mkdir(parents=True, exist_ok=True)
    digests = fingerprint_all(paths, progress) if digests is None else digests
    batch = MerkleBatch.build(digests, kind, valid_from, valid_until, fields=fields)
    sent, receipts = anchor_with_receipts(w3, deployment, account, batch)
    written = [(receipt_path(path, out_dir), receipt) for path, receipt in zip(paths, receipts, strict=True)]
    write_receipts(written)
    return Issued(written, sent, batch)
