"""The credential a document is also issued as, built from what the issuer states: no chain, no
key (the web processes build credentials too, and import neither web3 nor eth-account)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from verifier.core.fields import normalise
from verifier.core.kinds import kind_name
from verifier.credentials.verify import (
    ACHIEVEMENT_CONTEXTS,
    ACHIEVEMENT_TYPES,
    DIPLOMA,
    PLAIN_CONTEXTS,
    PLAIN_TYPES,
    iso_datetime,
)


def build_credential(
    *,
    kind: int,
    fields: Mapping[str, str],
    issuer_name: str,
    issuer_identifier: str,
    issuer_did: str,
    document_sha256: bytes,
    chain_id: int,
    registry: str,
    issuer_key: str,
    document_index: int,
    valid_from: int,
    valid_until: int,
    status: Mapping[str, Any] | None = None,
    credential_id: str | None = None,
) -> dict[str, Any]:
    """The unsigned credential (no receipt, no proof): an Open Badges 3.0 AchievementCredential
    for a diploma, a plain VC of the Sceau context for any other kind (CREDENTIAL.md §3)."""
    shown = normalise(fields)
    diploma = kind == DIPLOMA
    title = shown.get("degree") or shown.get("title") or kind_name(kind).replace("_", " ")
    subject: dict[str, Any] = {"type": ["AchievementSubject" if diploma else "SceauSubject"]}
    if "holder" in shown:
        subject["name"] = shown["holder"]
    if diploma:
        subject["achievement"] = {
            "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'sceau:{issuer_identifier}:{title}')}",
            "type": ["Achievement"],
            "achievementType": "Diploma",
            "name": title,
            "description": shown.get("speciality", title),
            "criteria": {
                "narrative": f"Awarded by {issuer_name}: the diploma certified by this credential's evidence."
            },
        }
    else:
        subject["documentKind"] = kind_name(kind)
    if shown:
        subject["displayedFields"] = shown
    credential: dict[str, Any] = {
        "@context": list(ACHIEVEMENT_CONTEXTS if diploma else PLAIN_CONTEXTS),
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": list(ACHIEVEMENT_TYPES if diploma else PLAIN_TYPES),
        "name": title,
        "issuer": {
            "id": issuer_did,
            "type": ["Profile"],
            "name": issuer_name,
            "otherIdentifier": [
                {"type": ["IdentifierEntry"], "identifier": issuer_identifier, "identifierType": "identifier"}
            ],
        },
        "validFrom": iso_datetime(valid_from),
        "credentialSubject": subject,
        "evidence": [
            {
                "type": ["Evidence", "AnchoredDocument"],
                "name": "The certified document",
                "description": "SHA-256 of the document anchored with this credential, and its leaf in the batch",
                "sha256": document_sha256.hex(),
                "chainId": chain_id,
                "registry": registry,
                "issuerKey": issuer_key,
                "leafIndex": document_index,
                "documentKind": kind_name(kind),
            }
        ],
    }
    if valid_until:
        credential["validUntil"] = iso_datetime(valid_until)
    if status is not None:
        credential["credentialStatus"] = dict(status)
    return credential
