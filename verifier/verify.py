"""Verification of one document against its receipt, the chain and the verifier's trust anchors.

``verify_document`` never trusts the receipt beyond what the chain confirms, and trusts the chain
only through a registry the verifier was given as a trust anchor: the receipt only says where to
look. Steps are numbered as in RECEIPT.md §4.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from verifier.chain import ChainReader, DocumentStatus, Head, IssuerInfo, Reason
from verifier.core.errors import ChainError, SceauError
from verifier.core.kinds import kind_name
from verifier.core.merkle import NO_FIELDS, verify_proof
from verifier.core.receipt import Receipt
from verifier.core.verdict import Check, Outcome, Verdict, error_from

if TYPE_CHECKING:
    from verifier.core.anchors import TrustAnchor
    from verifier.service import Verifier


def untrusted_registry(chain_id: int, registry: str, verifier: Verifier, sha: str | None, what: str) -> Verdict:
    """The verdict on anything naming a registry the verifier was not given: never valid, and no
    reader is ever made for it."""
    check = Check(
        "trust_anchor",
        False,
        "trust_anchor.untrusted",
        {"what": what, "registry": registry, "chain_id": chain_id, "trusted": verifier.anchors.describe()},
    )
    return Verdict(Outcome.UNTRUSTED_ISSUER, (check,), sha)


def trusted_check(anchor: TrustAnchor) -> Check:
    return Check(
        "trust_anchor",
        True,
        "trust_anchor.ok",
        {"name": anchor.name, "registry": anchor.registry, "chain_id": anchor.chain_id},
    )


def validity_check(valid_from: int, valid_until: int, now: int) -> tuple[Check, Outcome | None]:
    """(7): the document's validity period; the outcome it forces, if any."""
    if now < valid_from:
        return Check("expiry", False, "validity.not_yet", {"day": valid_from}), Outcome.NOT_YET_VALID
    if valid_until and now >= valid_until:
        return Check("expiry", False, "validity.expired", {"last_day": valid_until}), Outcome.EXPIRED
    if valid_until:
        return Check("expiry", True, "validity.until", {"last_day": valid_until}), None
    return Check("expiry", True, "validity.forever"), None


def integrity_check(digest: bytes, receipt: Receipt) -> Check:
    """(1): the document is the one the receipt commits to."""
    if digest == receipt.document.sha256:
        return Check("integrity", True, "integrity.ok")
    return Check(
        "integrity", False, "integrity.mismatch", {"found": digest.hex(), "expected": receipt.document.sha256.hex()}
    )


def proof_check(receipt: Receipt) -> Check:
    """(2): the receipt's leaf leads to its root."""
    ok = verify_proof(receipt.anchor.root, receipt.leaf, receipt.proof)
    return Check("merkle_proof", ok, "merkle_proof.ok" if ok else "merkle_proof.broken")


def anchor_check(receipt: Receipt, state: DocumentStatus, proof_on_chain: bool, batch_known: bool) -> Check:
    """(4): the root is anchored by the receipt's key, for this kind and size of batch."""
    doc = receipt.document
    if not state.anchored:
        return Check(
            "anchor",
            False,
            "anchor.not_anchored",
            {"root": "0x" + receipt.anchor.root.hex(), "key": receipt.anchor.issuer_key},
        )
    if batch_known and state.document_count != receipt.anchor.document_count:
        return Check(
            "anchor",
            False,
            "anchor.count_mismatch",
            {"found": state.document_count, "expected": receipt.anchor.document_count},
        )
    if state.kind != doc.kind:
        return Check(
            "anchor",
            False,
            "anchor.kind_mismatch",
            {"kind": kind_name(state.kind), "expected_kind": kind_name(doc.kind)},
        )
    if doc.index >= state.document_count:
        return Check("anchor", False, "anchor.index_out_of_range", {"count": state.document_count, "index": doc.index})
    if not proof_on_chain:
        return Check("anchor", False, "anchor.proof_rejected")
    return Check("anchor", True, "anchor.ok", {"date": state.anchored_at})


def issuer_check(state: DocumentStatus, issuer: IssuerInfo) -> Check:
    """(5): the key and its issuer were accredited when the root was anchored. (The registry
    refuses an anchor of a kind the issuer was not accredited for, so the kind was permitted then.)"""
    if not state.key_valid_at_anchoring:
        return Check("issuer", False, "issuer.key_not_valid", {"key": state.key, "date": state.anchored_at})
    if not state.issuer_active_at_anchoring:
        return Check("issuer", False, "issuer.suspended", {"issuer": issuer.name, "date": state.anchored_at})
    return Check(
        "issuer",
        True,
        "issuer.ok",
        {"issuer": issuer.name, "identifier": issuer.identifier, "accreditor": issuer.accreditor_name},
    )


def revocation_check(
    receipt: Receipt, state: DocumentStatus, reader: ChainReader
) -> tuple[Check, dict[str, Any] | None]:
    """(6): not revoked; when revoked, the reason and (from the logs, if the node serves them) when."""
    if state.revocation == Reason.NONE:
        return Check("revocation", True, "revocation.ok"), None
    slug = Reason.slug_of(state.revocation)
    info: dict[str, Any] = {"reason": slug, "code": int(state.revocation)}
    try:
        event = reader.revocation_event(
            receipt.anchor.issuer_key, receipt.anchor.root, receipt.document.index, receipt.anchor.block_number
        )
    except ChainError:
        event = None
    if event is None:
        return Check("revocation", False, "revocation.revoked", {"reason": slug}), info
    info.update(
        revokedAt=event.revoked_at,
        transactionHash=event.transaction_hash,
        replacedBy="0x" + event.replaced_by.hex() if event.replaced_by else None,
    )
    return Check("revocation", False, "revocation.revoked_on", {"reason": slug, "date": event.revoked_at}), info


def verify_document(
    digest: bytes,
    receipt: Receipt,
    verifier: Verifier,
    *,
    now: int | None = None,
    batch_known: bool = True,
    status: tuple[bool, DocumentStatus] | None = None,
    head: Head | None = None,
) -> Verdict:
    """Decide whether the document with SHA-256 `digest` is what `receipt` certifies.

    `batch_known`: False for a receipt rebuilt from a seal (no transaction, no batch size).
    `status`, `head`: the registry's answer already read in a batch (bulk checks), and the block
    it was read at (the verdict states that block, not a later one)."""
    now = int(time.time()) if now is None else now
    sha = digest.hex()
    doc = receipt.document
    document_info: dict[str, Any] = {
        "kind": kind_name(doc.kind),
        "index": doc.index,
        "validFrom": doc.valid_from,
        "validUntil": doc.valid_until or None,
        "fieldsBound": doc.fields_sha256 != NO_FIELDS,
    }
    checks = [integrity_check(digest, receipt), proof_check(receipt)]  # (1), (2)
    if not all(c.ok for c in checks):
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
        if status is None or head is None:
            head = reader.head(verifier.freshness)  # the block every answer below is read at
        proof_on_chain, state = status or reader.check_document(
            receipt.anchor.issuer_key, receipt.anchor.root, doc.index, receipt.leaf, list(receipt.proof), head=head
        )
        if not state.anchored and status is None:  # never "not authentic" from a held block: read the newest
            newest = reader.head(0.0)
            if newest.hash != head.hash:
                head = newest
                proof_on_chain, state = reader.check_document(
                    receipt.anchor.issuer_key,
                    receipt.anchor.root,
                    doc.index,
                    receipt.leaf,
                    list(receipt.proof),
                    head=head,
                )
        anchored = anchor_check(receipt, state, proof_on_chain, batch_known)  # (4)
        checks.append(anchored)
        anchor_info = {
            "chainId": receipt.chain_id,
            "registry": anchor.registry,
            "root": "0x" + receipt.anchor.root.hex(),
            "key": state.key if state.anchored else receipt.anchor.issuer_key,
            "transactionHash": "0x" + receipt.anchor.transaction_hash.hex() if batch_known else None,
            "blockNumber": receipt.anchor.block_number if batch_known else None,
            "anchoredAt": state.anchored_at or None,
        }
        if not anchored.ok:
            return Verdict(
                Outcome.UNKNOWN,
                tuple(checks),
                sha,
                anchor=anchor_info,
                document=document_info,
                trust_anchor=trust_info,
                block=head.to_dict(),
            )
        issuer = reader.issuer(state.issuer_id)
    except SceauError as exc:
        verifier.unpin(anchor)
        return error_from(exc, sha, tuple(checks), trust_anchor=trust_info)
    accredited = issuer_check(state, issuer)  # (5)
    revocation, revocation_info = revocation_check(receipt, state, reader)  # (6)
    validity, forced = validity_check(doc.valid_from, doc.valid_until, now)  # (7)
    checks += [accredited, revocation, validity]

    if not accredited.ok:
        outcome = Outcome.UNTRUSTED_ISSUER
    elif revocation_info is not None:
        outcome = Outcome.REVOKED
    else:
        outcome = forced or Outcome.VALID
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
    return Verdict(
        outcome,
        tuple(checks),
        sha,
        issuer=issuer_info,
        anchor=anchor_info,
        revocation=revocation_info,
        document=document_info,
        trust_anchor=trust_info,
        block=head.to_dict(),
    )
