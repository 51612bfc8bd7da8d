"""Fingerprints: streamed SHA-256 in constant memory, and refusal of what is not a document."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest

from verifier.core.errors import DocumentError
from verifier.core.hashing import sha256_file


def test_a_1_gib_file_hashes_in_constant_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(1 << 30)  # sparse: 1 GiB of zeros without using the disk
    tracemalloc.start()
    try:
        digest = sha256_file(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"
    expected = hashlib.sha256()
    chunk = b"\0" * (1 << 20)
    for _ in range(1024):
        expected.update(chunk)
    assert digest == expected.digest()


def test_missing_directory_and_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no such file"):
        sha256_file(tmp_path / "missing.pdf")
    with pytest.raises(DocumentError, match="is a directory"):
        sha256_file(tmp_path)
    (tmp_path / "empty.pdf").touch()
    with pytest.raises(DocumentError, match="the file is empty"):
        sha256_file(tmp_path / "empty.pdf")


def test_keccak256_is_ethereums_keccak_not_nist_sha3() -> None:
    """The Merkle tree and the leaves are consensus: the fast binding must give Ethereum's
    keccak-256 (the known empty-input answer; NIST SHA3-256 gives a7ffc6f8…), and the same bytes as
    eth-hash, the reference the contracts' tests use, on inputs of every length up to two blocks."""
    from eth_hash.auto import keccak

    from verifier.core.hashing import keccak256

    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert hashlib.sha3_256(b"").hexdigest() != keccak256(b"").hex()
    for n in range(0, 300):
        data = bytes((i * 7 + n) % 256 for i in range(n))
        assert keccak256(data) == keccak(data), n
