"""Verification from files and bytes: the entry point shared by the CLI and the HTTP endpoint."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .chain import ChainReader
from .errors import DocumentError, InvalidReceipt, SceauError
from .hashing import sha256_bytes, sha256_file
from .pdf import is_pdf, open_certified
from .receipt import MAX_RECEIPT_BYTES, Receipt
from .verdict import Check, Outcome, Verdict, error_verdict
from .verify import verify_document

_readers: dict[tuple[str, str], ChainReader] = {}


def reader_for(rpc_url: str, registry: str) -> ChainReader:
    """A reader per (endpoint, registry), reused so that the chain id is asked once."""
    key = (rpc_url, registry.lower())
    if key not in _readers:
        _readers[key] = ChainReader(rpc_url, registry)
    return _readers[key]


def read_receipt_file(path: Path) -> Receipt:
    if not path.exists():
        raise InvalidReceipt(f"{path}: no such receipt (pass --receipt, or keep FILE.receipt.json beside the file)")
    if path.is_dir():
        raise InvalidReceipt(f"{path}: is a directory, not a receipt")
    with path.open("rb") as f:
        data = f.read(MAX_RECEIPT_BYTES + 1)
    try:
        return Receipt.from_json(data)
    except InvalidReceipt as exc:
        raise type(exc)(f"{path}: {exc}") from None


MAX_PDF_BYTES = 256 * 1024 * 1024


def verify_certified_pdf(data: bytes, rpc_url: str) -> Verdict | None:
    """The verdict on a certified PDF (its embedded receipt, its original prefix, and what its
    update adds), or None when `data` is not a certified PDF."""
    try:
        certified = open_certified(data)
    except InvalidReceipt as exc:
        return error_verdict(f"the PDF's embedded receipt is malformed: {exc}", sha256_bytes(data).hex())
    if certified is None:
        return None
    if certified.original is None:
        check = Check("integrity", False, "no part of this PDF is the certified original: it was altered")
        return Verdict(Outcome.TAMPERED, (check,), hashlib.sha256(data).hexdigest())
    verdict = verify_document(
        sha256_bytes(certified.original), certified.receipt, reader_for(rpc_url, certified.receipt.registry)
    )
    problems = certified.problems
    check = Check(
        "certified_pdf",
        not problems,
        "the certified copy adds only the receipt and the seal to the original"
        if not problems
        else "; ".join(problems),
    )
    outcome = Outcome.TAMPERED if problems and verdict.outcome is not Outcome.ERROR else verdict.outcome
    return replace(verdict, outcome=outcome, checks=(check, *verdict.checks))


def verify_bytes(data: bytes, receipt_data: bytes | None, rpc_url: str) -> Verdict:
    try:
        digest = sha256_bytes(data)
    except DocumentError as exc:
        return error_verdict(str(exc))
    if receipt_data is None:
        certified = verify_certified_pdf(data, rpc_url)
        if certified is not None:
            return certified
        return error_verdict("no receipt given, and the document is not a certified PDF", digest.hex())
    return verify_digest(digest, lambda: Receipt.from_json(receipt_data), rpc_url)


def verify_digest(digest: bytes, load_receipt: Callable[[], Receipt], rpc_url: str) -> Verdict:
    """The verdict on the document of SHA-256 `digest`; a receipt that does not parse is an error verdict."""
    try:
        receipt = load_receipt()
    except InvalidReceipt as exc:
        return error_verdict(f"malformed receipt: {exc}", digest.hex())
    return verify_document(digest, receipt, reader_for(rpc_url, receipt.registry))


def verify_path(path: Path, receipt_path: Path | None, rpc_url: str) -> Verdict:
    """Verify a document on disk; its receipt defaults to ``FILE.receipt.json`` beside it.

    Raises DocumentError for a document that cannot be read; every other failure is a verdict."""
    digest = sha256_file(path)
    beside = path.with_name(path.name + ".receipt.json")
    if receipt_path is None and not beside.exists() and path.stat().st_size <= MAX_PDF_BYTES:
        with path.open("rb") as f:
            head = f.read(1024)
        if is_pdf(head):
            certified = verify_certified_pdf(path.read_bytes(), rpc_url)
            if certified is not None:
                return certified
    receipt_path = receipt_path or beside
    try:
        receipt = read_receipt_file(receipt_path)
    except SceauError as exc:
        return error_verdict(str(exc), digest.hex())
    return verify_document(digest, receipt, reader_for(rpc_url, receipt.registry))
