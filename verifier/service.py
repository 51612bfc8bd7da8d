"""Verification from files and bytes: the entry point shared by the CLI and the HTTP endpoint."""

from __future__ import annotations

from pathlib import Path

from .chain import ChainReader
from .errors import DocumentError, InvalidReceipt, SceauError
from .hashing import sha256_bytes, sha256_file
from .receipt import MAX_RECEIPT_BYTES, Receipt
from .verdict import Verdict, error_verdict
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


def verify_bytes(data: bytes, receipt_data: bytes, rpc_url: str) -> Verdict:
    try:
        digest = sha256_bytes(data)
    except DocumentError as exc:
        return error_verdict(str(exc))
    try:
        receipt = Receipt.from_json(receipt_data)
    except InvalidReceipt as exc:
        return error_verdict(f"malformed receipt: {exc}", digest.hex())
    return verify_document(digest, receipt, reader_for(rpc_url, receipt.registry))


def verify_path(path: Path, receipt_path: Path | None, rpc_url: str) -> Verdict:
    """Verify a document on disk; its receipt defaults to ``FILE.receipt.json`` beside it.

    Raises DocumentError for a document that cannot be read; every other failure is a verdict."""
    digest = sha256_file(path)
    receipt_path = receipt_path or path.with_name(path.name + ".receipt.json")
    try:
        receipt = read_receipt_file(receipt_path)
    except SceauError as exc:
        return error_verdict(str(exc), digest.hex())
    return verify_document(digest, receipt, reader_for(rpc_url, receipt.registry))
