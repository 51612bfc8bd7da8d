"""Uploaded documents: hashed while copied to storage in chunks, never held whole in memory."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import IO

from verifier.hashing import CHUNK, sha256_stream


class EmptyUpload(ValueError):
    pass


def store_stream(stream: IO[bytes], storage: Path) -> tuple[bytes, Path]:
    """Copy `stream` to a temporary file in `storage`, hashing as it goes. Returns the SHA-256 and
    the temporary path, which the caller must `commit_file` or delete."""
    tmp = storage / f".upload-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    with tmp.open("wb") as out:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    if size == 0:
        tmp.unlink()
        raise EmptyUpload("the file is empty")
    return digest.digest(), tmp


def fingerprint_stream(stream: IO[bytes]) -> bytes:
    """SHA-256 of an upload that is not kept, read in chunks."""
    digest, size = sha256_stream(stream)
    if size == 0:
        raise EmptyUpload("the file is empty")
    return digest


def commit_file(tmp: Path, storage: Path, sha256: bytes) -> Path:
    """Move an upload to its content address, storage/ab/abcdef…; identical documents share a file."""
    hexdigest = sha256.hex()
    final = storage / hexdigest[:2] / hexdigest
    final.parent.mkdir(exist_ok=True)
    os.replace(tmp, final)
    return final


def stored_path(storage: Path, sha256_hex: str) -> Path:
    return storage / sha256_hex[:2] / sha256_hex
