"""Fingerprints: SHA-256 of documents (streamed) and keccak-256 for the Merkle tree."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from sha3 import keccak_256

from verifier.core.errors import DocumentError

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

CHUNK = 1 << 20  # 1 MiB: constant memory whatever the document's size


def keccak256(data: bytes) -> bytes:
    """Ethereum's keccak-256 (not NIST SHA3-256). safe-pysha3's C binding: ~1 µs a call, where
    eth-hash's pycryptodome backend takes ~11; a Merkle tree of 10,000 leaves and a bulk check of
    10,000 documents make tens of thousands of calls. Pinned to known answers by the tests."""
    digest: bytes = keccak_256(data).digest()
    return digest


def checksum_address(address: str | bytes) -> ChecksumAddress:
    """EIP-55: an address (0x and 40 hex digits, or its 20 bytes) in its mixed-case form. Here rather
    than eth-utils', whose import loads pydantic (about 27 MiB in every process that checks an
    address, the web workers and the anchoring worker at its key unlock among them). Held to
    eth-utils' answers by tests/test_checksum_address.py. ValueError when it is not an address,
    TypeError when it is neither text nor bytes."""
    if isinstance(address, bytes | bytearray | memoryview):
        if len(address) != 20:
            raise ValueError(f"an address is 20 bytes, not {len(address)}")
        digits = bytes(address).hex()
    elif not isinstance(address, str):
        raise TypeError(f"an address is text or 20 bytes, not {type(address).__name__}")
    else:
        digits = address.lower().removeprefix("0x")
        if len(digits) != 40 or digits.strip("0123456789abcdef"):
            raise ValueError(f"{address!r} is not an address (0x and 40 hex digits)")
    return cast("ChecksumAddress", _mixed_case(digits))


@lru_cache(maxsize=4096)
def _mixed_case(digits: str) -> str:
    """EIP-55's casing of 40 lowercase hex digits, remembered: a bulk check names the same few
    issuer keys thousands of times (18 µs a call uncached, a sixth of verifying a document)."""
    nibbles = keccak_256(digits.encode()).hexdigest()
    return "0x" + "".join(c.upper() if n in "89abcdef" else c for c, n in zip(digits, nibbles, strict=False))


def sha256_stream(stream: IO[bytes]) -> tuple[bytes, int]:
    """SHA-256 of everything left in `stream`, read in chunks, and the number of bytes read."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.digest(), size


def sha256_file(path: str | Path) -> bytes:
    """SHA-256 of a document on disk. Refuses what cannot be a document: a missing file, a
    directory, an empty file."""
    p = Path(path)
    if not p.exists():
        raise DocumentError(f"{p}: no such file")
    if p.is_dir():
        raise DocumentError(f"{p}: is a directory, not a document")
    try:
        with p.open("rb") as f:
            digest, size = sha256_stream(f)
    except PermissionError as exc:
        raise DocumentError(f"{p}: cannot be read ({exc.strerror})") from exc
    if size == 0:
        raise DocumentError(f"{p}: the file is empty")
    return digest


def sha256_bytes(data: bytes) -> bytes:
    if not data:
        raise DocumentError("the document is empty")
    return hashlib.sha256(data).digest()
