"""What the worker does for credentials issued through the service (CREDENTIAL.md): once a batch
is confirmed, embed each credential's receipt and sign it with the issuer's Ed25519 key (after
registering that key's derived address in the registry, once); then, and after every confirmed
revocation, rebuild and sign the issuer's status lists from the chain. The web processes serve
what is stored here and hold no key."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select
from sqlalchemy.orm import undefer

from certifier.credentials import status_registry
from certifier.credentials.batching import slot_of
from certifier.credentials.issuing import ensure_registered, publish_status_lists
from certifier.keys import keystore
from certifier.store.db import Batch, Document, audit, now
from certifier.store.documents import receipts_of
from certifier.store.states import DocumentStatus
from certifier.worker.context import WorkerContext
from verifier.credentials.verify import RECEIPT_MEMBER

log = logging.getLogger("sceau.worker")
CREDENTIALS_PER_PASS = 200


def ensure_key_registered(ctx: WorkerContext, issuer: str) -> bool:
    """Register the issuer's credential key in the registry before any batch holding its
    credentials is anchored: the key must be valid at anchoring time (CREDENTIAL.md §7 step 5), and
    the registry dates an open-ended key from its registration. Once per issuer and process."""
    if issuer in ctx.keys.registered:
        return False
    with ctx.sessions() as s:
        waiting = s.scalar(
            select(Document.id)
            .where(
                Document.issuer == issuer,
                Document.status == DocumentStatus.anchoring,
                Document.credential_sha256.is_not(None),
            )
            .limit(1)
        )
    if waiting is None:
        return False
    record = keystore.load(issuer)
    assert record.issuer_id is not None  # a credential is built for accredited issuers only
    key = ctx.keys.credential_key(issuer)
    if ensure_registered(ctx.w3, ctx.deployment, record.issuer_id, key):
        log.info("%s: credential key %s registered in the registry", issuer, key.did)
    ctx.keys.registered.add(issuer)
    return True


def sign_confirmed(ctx: WorkerContext, issuer: str) -> bool:
    """Sign and store the credentials of the issuer's confirmed documents that have none yet, then
    publish its status lists (which now stand for them too)."""
    with ctx.sessions() as s:
        docs = list(
            s.scalars(
                select(Document)
                .where(
                    Document.issuer == issuer,
                    Document.status == DocumentStatus.confirmed,
                    Document.credential_sha256.is_not(None),
                    Document.credential_signed_at.is_(None),
                )
                .options(undefer(Document.credential_body))
                .limit(CREDENTIALS_PER_PASS)
            )
        )
        if not docs:
            return False
        record = keystore.load(issuer)
        assert record.issuer_id is not None  # a credential is built for accredited issuers only
        key = ctx.keys.credential_key(issuer)
        by_batch: dict[str, list[Document]] = {}
        for d in docs:
            by_batch.setdefault(d.batch_id or "", []).append(d)
        for batch_id, group in by_batch.items():
            batch = s.get(Batch, batch_id)
            assert batch is not None
            receipts = receipts_of(s, batch, group, ctx.deployment, ctx.keys.address(issuer), credentials=True)
            root = bytes.fromhex(batch.root[2:])
            for d in group:
                assert d.credential_body is not None and d.batch_index is not None
                body = json.loads(d.credential_body)
                signed = key.sign({**body, RECEIPT_MEMBER: receipts[d.id].to_dict()})
                # the entry stands for both leaves (bound again after a crash: a repeated line is harmless)
                leaves = (d.batch_index + 1, d.batch_index)
                status_registry.bind(record.issuer_id, slot_of(body), ctx.keys.address(issuer), root, leaves)
                d.credential = json.dumps(signed, ensure_ascii=False, indent=2) + "\n"
                d.credential_signed_at = now()
            audit(s, issuer, "worker", "credentials.signed", batch_id, {"count": len(group)})
        s.commit()
    publish_status_lists(ctx.w3, ctx.deployment, record, key)
    return True


def republish(ctx: WorkerContext, issuer: str) -> bool:
    """Rebuild, sign and publish the issuer's status lists from the chain (after a revocation)."""
    record = keystore.load(issuer)
    issues_credentials = record.issuer_id is not None and bool(status_registry.lists(record.issuer_id))
    if issues_credentials:  # else no credential was ever issued: nothing to publish, no key to open
        publish_status_lists(ctx.w3, ctx.deployment, record, ctx.keys.credential_key(issuer))
    ctx.republish.discard(issuer)
    return issues_credentials
