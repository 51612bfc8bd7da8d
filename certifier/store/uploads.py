"""Uploaded documents: hashed while copied to storage in chunks, never held whole in memory.

Stored documents are private to the service's user: files are created 0600 and folders 0700
whatever the umask, since a diploma names a person."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from verifier.core.errors import DocumentError
from verifier.core.hashing import CHUNK, sha256_stream

FILE_MODE = 0o600
DIR_MODE = 0o700


class EmptyUpload(DocumentError):
    """An uploaded file with no bytes: nothing to fingerprint."""


@contextmanager
def private_file(path: Path) -> Iterator[BinaryIO]:
    """A new file open for writing, readable by its owner only (created so, not chmod-ed after)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        yield out


def private_dir(path: Path) -> Path:
    """`path` and its missing parents, made 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    return path


def store_stream(stream: IO[bytes], storage: Path) -> tuple[bytes, Path]:
    """Copy `stream` to a temporary file in `storage`, hashing as it goes. Returns the SHA-256 and
    the temporary path, which the caller must `commit_file` or delete."""
    tmp = storage / f".upload-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    try:
        with private_file(tmp) as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
    private_dir(final.parent)
    os.replace(tmp, final)
    return final


def stored_path(storage: Path, sha256_hex: str) -> Path:
    return storage / sha256_hex[:2] / sha256_hex
