"""Credentials issued through the service (CREDENTIAL.md): built unsigned when their batch is formed,
signed by the worker once the batch is confirmed.

Building needs no secret: the issuer's name and identifier come from its record, its did:key from
the public part of its credential key, the anchoring key's address from its record, and a status
list entry is reserved (status_registry) — so the web processes, which form batches for
`POST /api/v1/batches` and rosters, stay keyless. Signing (the proof covers the embedded receipt,
so it can only come after the anchor) is `sign_confirmed` in the worker, which holds the keys."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certifier.credentials import status_registry
from certifier.credentials.building import build_credential
from certifier.keys import keystore
from certifier.keys.credential_keys import public_did
from certifier.store.documents import Conflict, PendingColumns

if TYPE_CHECKING:
    from certifier.chain.deployment import Deployment

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def public_url(configured: str | None = None) -> str:
    """Where the issuer service is reached (``SCEAU_PUBLIC_URL``): status lists are served there."""
    return configured or os.environ.get("SCEAU_PUBLIC_URL") or DEFAULT_PUBLIC_URL


def credential_did(issuer: str, base: Path | None = None) -> str:
    """The issuer's credential did:key, or Conflict saying how to make the key (it is made with
    the keystore's passphrase, which the web processes never hold)."""
    did = public_did(issuer, base)
    if did is None:
        raise Conflict(
            f"issuer {issuer!r} has no credential key yet: run `sceau credential status-list --issuer "
            f'"{issuer}"` once where its keystore is (it makes the key; issuers created since have one)'
        )
    return did


class CredentialMaker:
    """The unsigned credentials of documents being batched (store.documents.CredentialBuilder)."""

    def __init__(self, deployment: Deployment, status_base_url: str, base: Path | None = None) -> None:
        self.deployment = deployment
        self.status_base_url = status_base_url
        self.base = base

    def __call__(self, issuer: str, entries: Sequence[tuple[PendingColumns, int]]) -> list[dict[str, Any]]:
        record = keystore.load(issuer, self.base)
        if record.issuer_id is None:
            raise Conflict(f"issuer {issuer!r} is not accredited on chain: it cannot issue credentials")
        did = credential_did(issuer, self.base)
        slots = status_registry.reserve(record.issuer_id, len(entries), self.status_base_url, self.base)
        return [
            build_credential(
                kind=doc.kind,
                fields=doc.fields or {},
                issuer_name=record.name,
                issuer_identifier=record.identifier,
                issuer_did=did,
                document_sha256=bytes.fromhex(doc.sha256),
                chain_id=self.deployment.chain_id,
                registry=self.deployment.registry,
                issuer_key=record.address,
                document_index=index,
                valid_from=doc.valid_from,
                valid_until=doc.valid_until,
                status=slot.entry(),
            )
            for (doc, index), slot in zip(entries, slots, strict=True)
        ]


def slot_of(credential: dict[str, Any]) -> status_registry.Slot:
    """The status list entry a credential was built with."""
    url = credential["credentialStatus"]["statusListCredential"]
    return status_registry.Slot(int(url.rsplit("/", 1)[1]), int(credential["credentialStatus"]["statusListIndex"]), url)
