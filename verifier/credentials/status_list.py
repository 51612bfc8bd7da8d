"""W3C Bitstring Status List v1.0: the ``encodedList`` of a status list credential, and what a
credential's ``BitstringStatusListEntry`` says. The list is the multibase base64url (``u``, no
padding) of the GZIP of a bit string whose bit 0 is the left-most bit of its first byte."""

from __future__ import annotations

import base64
import gzip
import io
from collections.abc import Iterable

from verifier.credentials.errors import InvalidCredential

MIN_ENTRIES = 131_072  # the specification's minimum (16 KB): a list of a few entries would say who
MAX_ENCODED_CHARS = 4 * 1024 * 1024


def encode(revoked: Iterable[int], size: int = MIN_ENTRIES) -> str:
    """The ``encodedList`` of a list of `size` entries with the bits of `revoked` set."""
    if size < MIN_ENTRIES or size % 8:
        raise ValueError(f"a status list has at least {MIN_ENTRIES} entries, a multiple of 8")
    bits = bytearray(size // 8)
    for i in revoked:
        if not 0 <= i < size:
            raise ValueError(f"status index {i} is outside a list of {size}")
        bits[i >> 3] |= 0x80 >> (i & 7)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode(encoded: str) -> bytes:
    """The bit string of an ``encodedList``; InvalidCredential when it is not one."""
    if not encoded.startswith("u") or len(encoded) > MAX_ENCODED_CHARS:
        raise InvalidCredential("a status list is multibase base64url: it starts with u")
    body = encoded[1:]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as f:
            bits = f.read(MIN_ENTRIES * 64 // 8 + 1)
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidCredential(f"the status list cannot be decoded ({exc.__class__.__name__})") from None
    if len(bits) * 8 < MIN_ENTRIES:
        raise InvalidCredential(f"a status list has at least {MIN_ENTRIES} entries")
    return bits


def is_set(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise InvalidCredential(f"status index {index} is outside the list")
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))
