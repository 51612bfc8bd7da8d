"""Verification of one document against its receipt, the chain and the verifier's trust anchors.

``verify_document`` never trusts the receipt beyond what the chain confirms, and trusts the chain
only through a registry the verifier was given as a trust anchor: the receipt only says where to
look. Steps are numbered as in RECEIPT.md §4.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .chain import DocumentStatus, Reason
from .errors import ChainError, SceauError
from .kinds import kind_name
from .merkle import NO_FIELDS, verify_proof
from .receipt import Receipt
from .verdict import Check, Outcome, Verdict, error_verdict

if TYPE_CHECKING:
    from .anchors import TrustAnchor
    from .service import Verifier


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def untrusted_registry(chain_id: int, registry: str, verifier: Verifier, sha: str | None, what: str) -> Verdict:
    """The verdict on anything naming a registry the verifier was not given: never valid, and no
    reader is ever made for it."""
    check = Check(
        "trust_anchor",
        False,
        f"the {what} names registry {registry} on chain {chain_id}, which is not one of this verifier's "
        f"trust anchors ({verifier.anchors.describe()}): its answers prove nothing",
    )
    return Verdict(Outcome.UNTRUSTED_ISSUER, (check,), sha)


def trusted_check(anchor: TrustAnchor) -> Check:
    return Check(
        "trust_anchor",
        True,
        f"registry {anchor.registry} on chain {anchor.chain_id} is a trust anchor ({anchor.name})",
    )


def validity_check(valid_from: int, valid_until: int, now: int) -> tuple[Check, Outcome | None]:
    """(7): the document's validity period; the outcome it forces, if any."""
    if now < valid_from:
        return Check("expiry", False, f"not valid before {_date(valid_from)}"), Outcome.NOT_YET_VALID
    if valid_until and now >= valid_until:
        return Check("expiry", False, f"expired on {_date(valid_until)}"), Outcome.EXPIRED
    if valid_until:
        return Check("expiry", True, f"valid until {_date(valid_until)}"), None
    return Check("expiry", True, "does not expire"), None


def verify_document(
    digest: bytes,
    receipt: Receipt,
    verifier: Verifier,
    *,
    now: int | None = None,
    from_seal: bool = False,
    status: tuple[bool, DocumentStatus] | None = None,
) -> Verdict:
    """Decide whether the document with SHA-256 `digest` is what `receipt` certifies.

    `from_seal`: the receipt was rebuilt from a seal (no transaction, no batch size). `status`: the
    registry's answer already read in a batch (bulk checks)."""
    now = int(time.time()) if now is None else now
    sha = digest.hex()
    doc = receipt.document
    checks: list[Check] = []
    document_info: dict[str, Any] = {
        "kind": kind_name(doc.kind),
        "index": doc.index,
        "validFrom": doc.valid_from,
        "validUntil": doc.valid_until or None,
        "fieldsBound": doc.fields_sha256 != NO_FIELDS,
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

    # (3): the registry is one of the verifier's trust anchors, and the endpoint serves its chain
    anchor = verifier.anchors.find(receipt.chain_id, receipt.registry)
    if anchor is None:
        untrusted = untrusted_registry(receipt.chain_id, receipt.registry, verifier, sha, "receipt")
        return Verdict(Outcome.UNTRUSTED_ISSUER, (*checks, *untrusted.checks), sha, document=document_info)
    checks.append(trusted_check(anchor))
    trust_info = anchor.to_dict()
    try:
        reader = verifier.reader(anchor)
        proof_on_chain, state = status or reader.check_document(
            receipt.anchor.issuer_key, receipt.anchor.root, doc.index, leaf, list(receipt.proof)
        )
    except SceauError as exc:
        verifier.unpin(anchor)
        return error_verdict(str(exc), sha, tuple(checks), trust_info)

    # (4): the root is anchored, by the receipt's key, for this kind and size of batch
    anchor_info = {
        "chainId": receipt.chain_id,
        "registry": anchor.registry,
        "root": "0x" + receipt.anchor.root.hex(),
        "key": state.key if state.anchored else receipt.anchor.issuer_key,
        "transactionHash": None if from_seal else "0x" + receipt.anchor.transaction_hash.hex(),
        "blockNumber": None if from_seal else receipt.anchor.block_number,
        "anchoredAt": state.anchored_at or None,
    }
    problems = []
    if not state.anchored:
        problems.append(
            f"root {receipt.anchor.root.hex()[:16]}… was never anchored by key {receipt.anchor.issuer_key} "
            f"on chain {receipt.chain_id}"
        )
    else:
        if not from_seal and state.document_count != receipt.anchor.document_count:
            problems.append(f"the batch holds {state.document_count} documents, not {receipt.anchor.document_count}")
        if state.kind != doc.kind:
            problems.append(f"the batch is of kind {kind_name(state.kind)}, not {kind_name(doc.kind)}")
        if doc.index >= state.document_count:
            problems.append(f"the batch holds {state.document_count} documents, none with index {doc.index}")
        if not proof_on_chain:
            problems.append("the registry's MerkleProof check rejects the proof")
    anchored_ok = not problems
    checks.append(
        Check(
            "anchor",
            anchored_ok,
            f"anchored on chain {receipt.chain_id} on {_date(state.anchored_at)}"
            + ("" if from_seal else f" in block {receipt.anchor.block_number}")
            if anchored_ok
            else "; ".join(problems),
        )
    )
    if not anchored_ok:
        return Verdict(
            Outcome.UNKNOWN, tuple(checks), sha, anchor=anchor_info, document=document_info, trust_anchor=trust_info
        )

    # (5): the key and its issuer were accredited when the root was anchored (the registry refuses
    # an anchor of a kind the issuer was not accredited for, so the kind was permitted then)
    try:
        issuer = reader.issuer(state.issuer_id)
    except ChainError as exc:
        verifier.unpin(anchor)
        return error_verdict(str(exc), sha, tuple(checks), trust_info)
    issuer_info = {
        "id": issuer.id,
        "name": issuer.name,
        "identifier": issuer.identifier,
        "key": state.key,
        "accreditor": issuer.accreditor,
        "accreditorName": issuer.accreditor_name,
        "accreditedAt": issuer.accredited_at,
        "suspended": issuer.suspended,
        "rootAuthority": anchor.name,
    }
    reasons = []
    if not state.key_valid_at_anchoring:
        reasons.append(f"key {state.key} was not valid on {_date(state.anchored_at)} (rotated out or compromised)")
    if not state.issuer_active_at_anchoring:
        reasons.append(f"{issuer.name} was suspended on {_date(state.anchored_at)}")
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
    if state.revocation == Reason.NONE:
        checks.append(Check("revocation", True, "not revoked"))
    else:
        slug = Reason.slug_of(state.revocation)
        revocation_info = {"reason": slug, "code": int(state.revocation)}
        try:
            event = reader.revocation_event(
                receipt.anchor.issuer_key, receipt.anchor.root, doc.index, receipt.anchor.block_number
            )
        except ChainError:
            event = None
        detail = f"revoked: {slug.replace('_', ' ')}"
        if event is not None:
            revocation_info.update(
                revokedAt=event.revoked_at,
                transactionHash=event.transaction_hash,
                replacedBy="0x" + event.replaced_by.hex() if event.replaced_by else None,
            )
            detail += f" on {_date(event.revoked_at)}"
        checks.append(Check("revocation", False, detail))

    # (7): within its validity period
    validity, forced = validity_check(doc.valid_from, doc.valid_until, now)
    checks.append(validity)

    if not issuer_ok:
        outcome = Outcome.UNTRUSTED_ISSUER
    elif revocation_info is not None:
        outcome = Outcome.REVOKED
    elif forced is not None:
        outcome = forced
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
        trust_anchor=trust_info,
    )
