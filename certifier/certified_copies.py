"""Certified copies of documents the service holds: original from storage, receipt from the
batch, seal signed with the issuer's key."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from sqlalchemy.orm import Session

from verifier.errors import DocumentError

from .certified_pdf import certify_and_seal
from .context import ServiceContext
from .db import Batch, Document
from .documents import Conflict, receipts_for_batch
from .keystore import load
from .uploads import stored_path
from .worker import unlock_with_env

_accounts: dict[str, LocalAccount] = {}


def certified_copy(ctx: ServiceContext, session: Session, doc: Document) -> bytes:
    if doc.status != "confirmed":
        raise Conflict(f"document {doc.id} is {doc.status}; a certified copy exists once it is confirmed")
    path = stored_path(ctx.storage, doc.sha256)
    if not path.exists():
        raise Conflict(f"the original of document {doc.id} is not kept here (uploaded as a digest, or not kept)")
    original = path.read_bytes()
    batch = session.get(Batch, doc.batch_id)
    assert batch is not None and batch.block_number is not None
    receipt = receipts_for_batch(session, batch, ctx.deployment, load(doc.issuer).address)[doc.id]
    account = _accounts.get(doc.issuer) or unlock_with_env(doc.issuer)
    _accounts[doc.issuer] = account
    anchored_at = int(ctx.w3.eth.get_block(batch.block_number)["timestamp"])
    try:
        return certify_and_seal(
            original,
            receipt,
            account.key,
            anchored_at,
            fields=doc.fields or {},
            verifier_url=ctx.settings.verifier_url,
        )
    except DocumentError as exc:
        raise Conflict(str(exc)) from None
