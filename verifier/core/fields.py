"""Displayed fields: what the paper says (holder, date of birth, degree, number…), bound to the
document's leaf by their SHA-256 so that a seal vouches for the words printed beside it.

Consensus-critical: the canonical bytes below are part of receipt format v1 (RECEIPT.md §3).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping

from verifier.core.catalogue import Catalogue
from verifier.core.errors import InvalidFields

MAX_FIELDS = 16
MAX_VALUE_CHARS = 200
MAX_CANONICAL_BYTES = 600  # what a QR seal of version ≤ 25 still carries beside its proof
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")

#: Human labels of the usual fields, for the verifier page, the CLI and reports. Other keys are
#: shown as they are.
LABELS = Catalogue.load("verifier.core", "locales/fields.json")


def label(key: str, lang: str = "en") -> str:
    return LABELS.get(key, {}).get(lang, key)


def normalise(fields: Mapping[str, object]) -> dict[str, str]:
    """The fields as they will be sealed (values NFC-normalised and stripped), or InvalidFields
    naming the first problem."""
    if len(fields) > MAX_FIELDS:
        raise InvalidFields(
            f"{len(fields)} displayed fields; at most {MAX_FIELDS}",
            "fields_too_many",
            count=len(fields),
            limit=MAX_FIELDS,
        )
    out: dict[str, str] = {}
    for key, value in fields.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise InvalidFields(
                f"field name {str(key)[:40]!r}: use letters, digits and _ (e.g. holder, birth_date), at most 32",
                "field_name",
                name=str(key)[:40],
            )
        if not isinstance(value, str):
            raise InvalidFields(f"field {key}: the value must be text", "field_not_text", name=key)
        text = unicodedata.normalize("NFC", value).strip()
        if not text:
            raise InvalidFields(f"field {key}: the value is empty", "field_empty", name=key)
        if len(text) > MAX_VALUE_CHARS:
            raise InvalidFields(
                f"field {key}: {len(text)} characters; at most {MAX_VALUE_CHARS}",
                "field_too_long",
                name=key,
                count=len(text),
                limit=MAX_VALUE_CHARS,
            )
        if any(unicodedata.category(c).startswith("C") for c in text):
            raise InvalidFields(f"field {key}: control characters are not allowed", "field_control", name=key)
        out[key] = text
    size = len(canonical(out))
    if size > MAX_CANONICAL_BYTES:
        raise InvalidFields(
            f"the displayed fields take {size} bytes; at most {MAX_CANONICAL_BYTES} fit in a seal",
            "fields_too_big",
            size=size,
            limit=MAX_CANONICAL_BYTES,
        )
    return out


def canonical(fields: Mapping[str, str]) -> bytes:
    """UTF-8 JSON, members sorted by name, no whitespace, non-ASCII written as is."""
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fields_sha256(fields: Mapping[str, str]) -> bytes:
    """The leaf's ``fields_sha256``: 32 zero bytes when no field is bound."""
    if not fields:
        return bytes(32)
    return hashlib.sha256(canonical(fields)).digest()
