"""Sceau's Verifiable Credentials (CREDENTIAL.md): a W3C VC 2.0 — an Open Badges 3.0
``AchievementCredential`` for a diploma — secured by an ``eddsa-rdfc-2022`` proof, and anchored as a
leaf of the same batch as the document it describes, its receipt embedded under ``anchorReceipt``.

``verify_credential`` gives one verdict over the proof, the credential's own leaf (through
``verify_document``, as for any Sceau document), the key that signed it (registered for the issuer
that anchored it, in a trusted registry) and the certified document's leaf (revoking either revokes
the credential)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from verifier.chain import KeyRecord, Reason
from verifier.core.errors import InvalidFields, InvalidReceipt, SceauError
from verifier.core.fields import fields_sha256, normalise
from verifier.core.kinds import kind_name
from verifier.core.merkle import NO_FIELDS
from verifier.core.receipt import Receipt, parse_json
from verifier.core.verdict import Check, Outcome, Verdict, error_from
from verifier.credentials import messages as credential_messages
from verifier.credentials.data_integrity import verify_proof
from verifier.credentials.didkey import public_key_of, registry_address
from verifier.credentials.errors import InvalidCredential
from verifier.credentials.linked_data import OB_V3, SCEAU_V1, VC_V2, nquads_sha256
from verifier.verify import integrity_check, verify_document

if TYPE_CHECKING:
    from verifier.service import Verifier

credential_messages.register()

MEDIA_TYPE = "application/vc"  # VC 2.0's media type for a credential secured by an embedded proof
MAX_CREDENTIAL_BYTES = 256 * 1024
RECEIPT_MEMBER = "anchorReceipt"
ACHIEVEMENT_CONTEXTS = (VC_V2, OB_V3, SCEAU_V1)
PLAIN_CONTEXTS = (VC_V2, SCEAU_V1)
ACHIEVEMENT_TYPES = ("VerifiableCredential", "AchievementCredential")
PLAIN_TYPES = ("VerifiableCredential", "SceauCredential")
DIPLOMA = 1  # kind code (RECEIPT.md §5) whose credentials are Open Badges


def iso_datetime(seconds: int) -> str:
    """A leaf's Unix seconds as the credential writes them: ``2026-07-01T00:00:00Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_or_none(seconds: int) -> str | None:
    """None for a date past year 9999, which no credential can write (a leaf may hold it)."""
    try:
        return iso_datetime(seconds)
    except (ValueError, OverflowError, OSError):
        return None


def anchored_part(credential: dict[str, Any]) -> dict[str, Any]:
    """What the credential's leaf fingerprints: the credential without its ``proof`` and without its
    ``anchorReceipt`` (which cannot be part of what it anchors)."""
    return {k: v for k, v in credential.items() if k not in ("proof", RECEIPT_MEMBER)}


def credential_sha256(credential: dict[str, Any]) -> bytes:
    """The credential's "document" fingerprint in its leaf: SHA-256 of the RDFC-1.0 canonical
    N-Quads of ``anchored_part`` (CREDENTIAL.md §5)."""
    return nquads_sha256(anchored_part(credential))


@dataclass(frozen=True)
class Claims:
    """What the credential says, before anything is checked."""

    issuer_did: str
    issuer_name: Any
    issuer_identifier: Any
    valid_from: Any
    valid_until: Any
    fields: Any
    document: dict[str, Any]  # the AnchoredDocument evidence


def parse(data: bytes) -> tuple[dict[str, Any], Receipt, Claims]:
    """The credential, its embedded receipt and its claims; InvalidCredential (or the receipt's
    InvalidReceipt) when it is not of Sceau's profile."""
    if len(data) > MAX_CREDENTIAL_BYTES:
        raise InvalidCredential(f"a credential is at most {MAX_CREDENTIAL_BYTES} bytes")
    try:  # strict JSON, as a receipt: no duplicate members, no NaN, nothing after the value
        credential = parse_json(data.decode("utf-8"), "the credential")
    except (InvalidReceipt, UnicodeDecodeError) as exc:
        raise InvalidCredential(f"the credential is not JSON: {exc}") from None
    if not isinstance(credential, dict):
        raise InvalidCredential("a credential is a JSON object")
    contexts, types = credential.get("@context"), credential.get("type")
    profiles = {ACHIEVEMENT_TYPES: ACHIEVEMENT_CONTEXTS, PLAIN_TYPES: PLAIN_CONTEXTS}
    if not isinstance(types, list) or tuple(types) not in profiles:
        raise InvalidCredential(f"the credential's type is not one of Sceau's: {ACHIEVEMENT_TYPES} or {PLAIN_TYPES}")
    if not isinstance(contexts, list) or tuple(contexts) != profiles[tuple(types)]:
        raise InvalidCredential(f"the credential's @context must be exactly {list(profiles[tuple(types)])}")
    embedded = credential.get(RECEIPT_MEMBER)
    if not isinstance(embedded, dict):
        raise InvalidCredential(f"the credential carries no receipt ({RECEIPT_MEMBER})")
    receipt = Receipt.from_json(json.dumps(embedded))
    issuer = credential.get("issuer")
    if not isinstance(issuer, dict) or not isinstance(issuer.get("id"), str):
        raise InvalidCredential("the credential's issuer is not a profile with an id")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        raise InvalidCredential("the credential has no single credentialSubject")
    evidence = credential.get("evidence")
    if (
        not isinstance(evidence, list)
        or len(evidence) != 1
        or not isinstance(evidence[0], dict)
        or "AnchoredDocument" not in (evidence[0].get("type") or [])
    ):
        raise InvalidCredential("the credential's evidence is not one AnchoredDocument")
    identifiers = issuer.get("otherIdentifier") or [{}]
    claims = Claims(
        issuer_did=issuer["id"],
        issuer_name=issuer.get("name"),
        issuer_identifier=identifiers[0].get("identifier") if isinstance(identifiers[0], dict) else None,
        valid_from=credential.get("validFrom"),
        valid_until=credential.get("validUntil"),
        fields=subject.get("displayedFields"),
        document=evidence[0],
    )
    return credential, receipt, claims


def bound_fields(fields: Any) -> bytes | None:
    """The ``fieldsSha256`` the credential's displayed fields bind (None when they are not in the
    exact, normalised form a leaf binds: shown words must be the anchored words)."""
    if fields is None:
        return NO_FIELDS
    if not isinstance(fields, dict):
        return None
    try:
        normalised = normalise(fields)
    except InvalidFields:
        return None
    return fields_sha256(normalised) if normalised == fields else None


def consistency_problems(claims: Claims, receipt: Receipt, issuer: dict[str, Any] | None) -> list[str]:
    """Where the credential says something else than its leaf and the registry (issuer as read
    from the chain by verify_document)."""
    doc, problems = receipt.document, []
    if claims.valid_from != _iso_or_none(doc.valid_from):
        problems.append("validFrom differs from the anchored date")
    if claims.valid_until != (_iso_or_none(doc.valid_until) if doc.valid_until else None):
        problems.append("validUntil differs from the anchored date")
    if bound_fields(claims.fields) != doc.fields_sha256:
        problems.append("the displayed fields are not the anchored ones")
    evidence = claims.document
    same_place = (
        evidence.get("chainId") == receipt.chain_id
        and str(evidence.get("registry", "")).lower() == receipt.registry.lower()
        and str(evidence.get("issuerKey", "")).lower() == receipt.anchor.issuer_key.lower()
        and evidence.get("documentKind") == kind_name(doc.kind)
    )
    index = evidence.get("leafIndex")
    if not same_place or not isinstance(index, int) or isinstance(index, bool) or index == doc.index:
        problems.append("the certified document is not in the credential's batch")
    if issuer is not None and (claims.issuer_name, claims.issuer_identifier) != (
        issuer["name"],
        issuer["identifier"],
    ):
        problems.append("the issuer's name or identifier is not the registry's")
    return problems


def key_check(record: KeyRecord, address: str, issuer: dict[str, Any], anchored_at: int) -> Check:
    """The Ed25519 key is registered (at its derived address) for the issuer that anchored the
    credential, and was valid then (CREDENTIAL.md §4)."""
    params = {"address": address, "issuer": issuer["name"], "date": anchored_at}
    if record.issuer_id == 0:
        return Check("credential_key", False, "credential_key.not_registered", params)
    if record.issuer_id != issuer["id"]:
        return Check("credential_key", False, "credential_key.other_issuer", params)
    if not record.valid_from <= anchored_at < record.valid_until:
        return Check("credential_key", False, "credential_key.not_valid", params)
    return Check("credential_key", True, "credential_key.ok", params)


def verify_credential(data: bytes, verifier: Verifier, *, now: int | None = None) -> Verdict:
    """One verdict on a credential (CREDENTIAL.md §7): proof, anchor of its own leaf, trust, its
    signing key's registration, and revocation of either leaf."""
    now = int(time.time()) if now is None else now
    try:  # (1) the profile, (2) the proof: no chain needed
        credential, receipt, claims = parse(data)
        digest = credential_sha256(credential)
        proof = verify_proof(credential)
        if public_key_of(claims.issuer_did) != proof.public_key or claims.issuer_did.count("#"):
            raise InvalidCredential("the proof is not signed by the key of the credential's issuer")
    except InvalidReceipt as exc:
        return error_from(exc)
    proof_check = Check(
        "proof",
        proof.ok,
        "credential.proof_ok" if proof.ok else "credential.proof_bad",
        {"method": proof.verification_method, "problem": proof.problem or ""},
    )
    if not proof.ok:
        return Verdict(Outcome.TAMPERED, (proof_check, integrity_check(digest, receipt)), digest.hex())

    verdict = verify_document(digest, receipt, verifier, now=now)  # (3)-(9): RECEIPT.md §4 for its leaf
    verdict = replace(verdict, checks=(proof_check, *verdict.checks))
    if verdict.outcome in (Outcome.TAMPERED, Outcome.UNKNOWN, Outcome.UNTRUSTED_ISSUER, Outcome.ERROR):
        return verdict
    assert verdict.issuer is not None and verdict.anchor is not None  # an anchored, trusted leaf
    problems = consistency_problems(claims, receipt, verdict.issuer)  # (10)
    consistent = (
        Check("credential", False, "credential.inconsistent", {"problems": problems})
        if problems
        else Check("credential", True, "credential.consistent")
    )
    document = {**verdict.document, "credential": _summary(credential, claims)}
    if problems:
        return replace(verdict, outcome=Outcome.TAMPERED, checks=(*verdict.checks, consistent), document=document)
    document["fields"] = claims.fields or {}
    anchor = verifier.anchors.find(receipt.chain_id, receipt.registry)
    assert anchor is not None  # verify_document found it
    address = registry_address(proof.public_key or b"")
    index = int(claims.document["leafIndex"])
    try:
        reader = verifier.reader(anchor)
        key = key_check(reader.key_record(address), address, verdict.issuer, int(verdict.anchor["anchoredAt"]))  # (11)
        status = reader.document_status(receipt.anchor.issuer_key, receipt.anchor.root, index)  # (12)
        event = None
        if status.anchored and status.revocation:
            event = reader.revocation_event(
                receipt.anchor.issuer_key, receipt.anchor.root, index, receipt.anchor.block_number
            )
    except SceauError as exc:
        verifier.unpin(anchor)
        return error_from(exc, digest.hex(), (*verdict.checks, consistent))
    if not status.anchored or index >= status.document_count:
        doc_check = Check("document_revocation", False, "document_revocation.missing")
    elif status.revocation:
        doc_check = Check(
            "document_revocation", False, "document_revocation.revoked", {"reason": Reason.slug_of(status.revocation)}
        )
    else:
        doc_check = Check("document_revocation", True, "document_revocation.ok")
    checks = (*verdict.checks, consistent, key, doc_check)
    outcome: Outcome = verdict.outcome
    revocation = verdict.revocation
    if not key.ok:
        outcome = Outcome.UNTRUSTED_ISSUER
    elif not status.anchored or index >= status.document_count:
        outcome = Outcome.TAMPERED
    elif status.revocation and outcome is not Outcome.REVOKED:
        outcome = Outcome.REVOKED
        revocation = {"reason": Reason.slug_of(status.revocation), "code": int(status.revocation), "of": "document"}
        if event is not None:
            revocation.update(revokedAt=event.revoked_at, transactionHash=event.transaction_hash)
    return replace(verdict, outcome=outcome, checks=checks, document=document, revocation=revocation)


def _summary(credential: dict[str, Any], claims: Claims) -> dict[str, Any]:
    return {
        "id": credential.get("id"),
        "type": credential.get("type"),
        "issuer": claims.issuer_did,
        "documentSha256": claims.document.get("sha256"),
        "documentIndex": claims.document.get("leafIndex"),
    }
