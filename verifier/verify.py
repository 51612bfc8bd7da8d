"""Verification of one document against its receipt and the chain.

``verify_document`` never trusts the receipt beyond what the chain confirms: the receipt only says
where to look. Steps are numbered as in RECEIPT.md, section "Verifying".
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from .abi import checksummed
from .chain import ChainReader, Reason
from .errors import ChainError, SceauError
from .kinds import kind_name
from .merkle import verify_proof
from .receipt import Receipt
from .verdict import Check, Outcome, Verdict, error_verdict


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def verify_document(
    digest: bytes, receipt: Receipt, reader: ChainReader, *, now: int | None = None, from_seal: bool = False
) -> Verdict:
    """Decide whether the document with SHA-256 `digest` is what `receipt` certifies, per the chain."""
    now = int(time.time()) if now is None else now
    sha = digest.hex()
    doc = receipt.document
    checks: list[Check] = []
    document_info: dict[str, Any] = {
        "kind": kind_name(doc.kind),
        "index": doc.index,
        "validFrom": doc.valid_from,
        "validUntil": doc.valid_until or None,
    }

    # (1): the document is the one the receipt commits to
    integrity = digest == doc.sha256
    checks.append(
        Check(
            "integrity",
            integrity,
            "the document's SHA-256 matches the receipt"
            if integrity
            else f"the document's SHA-256 {sha[:16]}… differs from the receipt's {doc.sha256.hex()[:16]}…: "
            "the document was altered, or the receipt belongs to another document",
        )
    )

    # (2): the receipt's leaf leads to its root
    leaf = receipt.leaf
    proof_ok = verify_proof(receipt.anchor.root, leaf, receipt.proof)
    checks.append(
        Check(
            "merkle_proof",
            proof_ok,
            f"the proof leads from the document's leaf to root {receipt.anchor.root.hex()[:16]}…"
            if proof_ok
            else "the Merkle proof does not lead to the receipt's root: the receipt was altered",
        )
    )
    if not integrity or not proof_ok:
        return Verdict(Outcome.TAMPERED, tuple(checks), sha, document=document_info)

    # (3): the endpoint serves the receipt's chain and registry
    try:
        if checksummed(receipt.registry) != reader.registry:
            raise ChainError(f"the receipt names registry {receipt.registry}, not {reader.registry}")
        reader.require_chain(receipt.chain_id)
        proof_on_chain, status = reader.check_document(receipt.anchor.root, doc.index, leaf, list(receipt.proof))
    except SceauError as exc:
        return error_verdict(str(exc), sha, tuple(checks))

    # (4): the root is anchored, by the receipt's key, for this kind and size of batch
    anchor_info = {
        "chainId": receipt.chain_id,
        "registry": reader.registry,
        "root": "0x" + receipt.anchor.root.hex(),
        "transactionHash": None if from_seal else "0x" + receipt.anchor.transaction_hash.hex(),
        "blockNumber": None if from_seal else receipt.anchor.block_number,
        "anchoredAt": status.anchored_at or None,
    }
    problems = []
    if not status.anchored:
        problems.append(f"root {receipt.anchor.root.hex()[:16]}… is not anchored on chain {receipt.chain_id}")
    else:
        if status.key.lower() != receipt.anchor.issuer_key.lower():
            problems.append(f"it was anchored by key {status.key}, not by the receipt's {receipt.anchor.issuer_key}")
        if not from_seal and status.document_count != receipt.anchor.document_count:
            problems.append(f"the batch holds {status.document_count} documents, not {receipt.anchor.document_count}")
        if status.kind != doc.kind:
            problems.append(f"the batch is of kind {kind_name(status.kind)}, not {kind_name(doc.kind)}")
        if from_seal and doc.index >= status.document_count:
            problems.append(f"the batch holds {status.document_count} documents, none with index {doc.index}")
        if not proof_on_chain:
            problems.append("the registry's MerkleProof check rejects the proof")
    anchored_ok = not problems
    checks.append(
        Check(
            "anchor",
            anchored_ok,
            f"anchored on chain {receipt.chain_id} on {_date(status.anchored_at)}"
            + ("" if from_seal else f" in block {receipt.anchor.block_number}")
            if anchored_ok
            else "; ".join(problems),
        )
    )
    if not anchored_ok:
        return Verdict(Outcome.UNKNOWN, tuple(checks), sha, anchor=anchor_info, document=document_info)

    # (5): the key and its issuer were accredited for this kind when the root was anchored
    try:
        issuer = reader.issuer(status.issuer_id)
    except ChainError as exc:
        return error_verdict(str(exc), sha, tuple(checks))
    issuer_info = {
        "id": issuer.id,
        "name": issuer.name,
        "identifier": issuer.identifier,
        "key": status.key,
        "accreditor": issuer.accreditor,
        "accreditorName": issuer.accreditor_name,
        "accreditedAt": issuer.accredited_at,
        "suspended": issuer.suspended,
    }
    reasons = []
    if not status.key_valid_at_anchoring:
        reasons.append(f"key {status.key} was not valid on {_date(status.anchored_at)} (rotated out or compromised)")
    if not status.issuer_active_at_anchoring:
        reasons.append(f"{issuer.name} was suspended on {_date(status.anchored_at)}")
    if not status.kind_permitted:
        reasons.append(f"{issuer.name} is not accredited for {kind_name(status.kind)}")
    issuer_ok = not reasons
    checks.append(
        Check(
            "issuer",
            issuer_ok,
            f"{issuer.name} ({issuer.identifier}) was accredited by {issuer.accreditor_name} when it anchored"
            if issuer_ok
            else "; ".join(reasons),
        )
    )

    # (6): not revoked
    revocation_info: dict[str, Any] | None = None
    if status.revocation is Reason.NONE:
        checks.append(Check("revocation", True, "not revoked"))
    else:
        revocation_info = {"reason": status.revocation.slug}
        try:
            event = reader.revocation_event(receipt.anchor.root, doc.index, receipt.anchor.block_number)
        except ChainError:
            event = None
        detail = f"revoked: {status.revocation.slug.replace('_', ' ')}"
        if event is not None:
            revocation_info.update(
                revokedAt=event.revoked_at,
                transactionHash=event.transaction_hash,
                replacedBy="0x" + event.replaced_by.hex() if event.replaced_by else None,
            )
            detail += f" on {_date(event.revoked_at)}"
        checks.append(Check("revocation", False, detail))

    # (7): within its validity dates
    if doc.valid_until and now >= doc.valid_until:
        expiry = Check("expiry", False, f"expired on {_date(doc.valid_until)}")
    elif doc.valid_until:
        expiry = Check("expiry", True, f"valid until {_date(doc.valid_until)}")
    else:
        expiry = Check("expiry", True, "does not expire")
    checks.append(expiry)

    if not issuer_ok:
        outcome = Outcome.UNTRUSTED_ISSUER
    elif revocation_info is not None:
        outcome = Outcome.REVOKED
    elif not expiry.ok:
        outcome = Outcome.EXPIRED
    else:
        outcome = Outcome.VALID
    return Verdict(
        outcome,
        tuple(checks),
        sha,
        issuer=issuer_info,
        anchor=anchor_info,
        revocation=revocation_info,
        document=document_info,
    )
