"""Verification of a seal (the QR payload): online against the chain, offline against a signed
trust list. Either way, a seal is "authentic" only for the displayed fields it binds: the paper must
say them word for word."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from verifier.core.errors import InvalidSeal
from verifier.core.fields import fields_sha256
from verifier.core.kinds import kind_name
from verifier.core.merkle import NO_FIELDS, verify_proof
from verifier.core.seal import Seal
from verifier.core.verdict import Check, Outcome, Verdict, error_from, error_verdict
from verifier.verify import untrusted_registry, validity_check, verify_document

if TYPE_CHECKING:
    from verifier.service import Verifier


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _content_check(seal: Seal) -> tuple[Check, Outcome | None]:
    """What the seal vouches for on the paper. Never claims a document's integrity: no document
    was hashed, only the fields the seal carries."""
    if seal.fields:
        if fields_sha256(seal.fields) != seal.document.fields_sha256:
            return Check("fields", False, "fields.mismatch"), Outcome.TAMPERED
        return Check("fields", True, "fields.ok"), None
    if seal.document.fields_sha256 != NO_FIELDS:
        return Check("fields", None, "fields.omitted"), Outcome.SEAL_ONLY
    return Check("fields", None, "fields.none"), Outcome.SEAL_ONLY


def verify_seal(seal: Seal, verifier: Verifier, *, offline: bool = False, now: int | None = None) -> Verdict:
    """Online (chain, accreditation at anchoring, revocation), or with `offline` against the
    verifier's signed trust list (signature, proof, accreditation as of the list; revocation unseen)."""
    now = int(time.time()) if now is None else now
    sha = seal.document.sha256.hex()
    document: dict[str, Any] = {
        "kind": kind_name(seal.document.kind),
        "fields": seal.fields,
        "validFrom": seal.document.valid_from,
        "validUntil": seal.document.valid_until or None,
        "fieldsBound": seal.document.fields_sha256 != NO_FIELDS,
    }
    try:
        signer = seal.signer()
    except InvalidSeal as exc:
        return error_from(exc)
    content, content_outcome = _content_check(seal)
    if content_outcome is Outcome.TAMPERED:
        return Verdict(Outcome.TAMPERED, (content,), sha, document=document)
    anchor = verifier.anchors.find(seal.chain_id, seal.registry)
    if anchor is None:
        return replace(untrusted_registry(seal.chain_id, seal.registry, verifier, sha, "seal"), document=document)
    if offline:
        verdict = _offline(seal, signer, verifier, now, document)
    else:
        online = verify_document(seal.document.sha256, seal.as_receipt(signer), verifier, now=now, batch_known=False)
        # the seal's signer is the anchoring key looked up on chain: a re-signed copy finds nothing
        checks = tuple(c for c in online.checks if c.id != "integrity")
        verdict = replace(
            online,
            checks=(Check("signature", True, "signature.ok", {"key": signer}), *checks),
            document={**online.document, **document},
        )
    checks = (content, *verdict.checks)
    outcome = verdict.outcome
    if content_outcome is Outcome.SEAL_ONLY and outcome in (Outcome.VALID, Outcome.VALID_REVOCATION_UNCHECKED):
        outcome = Outcome.SEAL_ONLY
    return replace(verdict, outcome=outcome, checks=checks)


def _offline(seal: Seal, signer: str, verifier: Verifier, now: int, document: dict[str, Any]) -> Verdict:
    sha = seal.document.sha256.hex()
    trust = verifier.trust_list
    if trust is None:
        return error_verdict(
            "offline verification needs a signed trust list (sceau trustlist export)", sha, code="error.trust_list"
        )
    trust_info = trust.anchor.to_dict()
    if (trust.anchor.chain_id, trust.anchor.registry.lower()) != (seal.chain_id, seal.registry.lower()):
        return error_verdict(
            f"the trust list covers registry {trust.anchor.registry}, not the seal's {seal.registry}",
            sha,
            trust_anchor=trust_info,
            code="error.trust_list",
        )
    if trust.stale(now):
        return error_verdict(
            f"the trust list is stale: its next update was due on {_date(trust.next_update)}; get a fresh one "
            "from the root authority, or check online",
            sha,
            trust_anchor=trust_info,
            code="error.stale_trust_list",
        )
    checks: list[Check] = []
    proof_ok = verify_proof(seal.root, seal.as_receipt(signer).leaf, seal.proof)
    checks.append(Check("merkle_proof", proof_ok, "merkle_proof.ok" if proof_ok else "merkle_proof.broken"))
    if not proof_ok:
        return Verdict(Outcome.TAMPERED, tuple(checks), sha, document=document, trust_anchor=trust_info)
    key = trust.lookup(signer)
    if key is None:
        checks.append(Check("signature", False, "signature.unknown_key", {"key": signer}))
        return Verdict(Outcome.UNTRUSTED_ISSUER, tuple(checks), sha, document=document, trust_anchor=trust_info)
    issuer = {
        "id": key.issuer_id,
        "name": key.issuer,
        "identifier": key.identifier,
        "key": key.address,
        "accreditorName": key.accreditor,
        "rootAuthority": trust.anchor.name,
    }
    # a key cut off for compromise signs whatever time a thief writes: only the chain can tell
    if key.compromised or key.issuer_suspended or kind_name(seal.document.kind) not in key.kinds:
        why = "compromised" if key.compromised else ("suspended" if key.issuer_suspended else "kind")
        check = Check("signature", None, "signature.check_online", {"issuer": key.issuer, "why": why})
        checks.append(check)
        return Verdict(
            Outcome.ERROR,
            tuple(checks),
            sha,
            issuer=issuer,
            document=document,
            error=f"cannot be decided offline ({check.detail})",
            trust_anchor=trust_info,
            error_code="error.offline_undecidable",
        )
    trusted = key.valid_at(seal.anchored_at)
    checks.append(
        Check(
            "signature",
            True,
            "signature.listed",
            {"issuer": key.issuer, "identifier": key.identifier, "accreditor": key.accreditor},
        )
        if trusted
        else Check("signature", False, "signature.not_accredited", {"issuer": key.issuer, "day": seal.anchored_at})
    )
    checks.append(Check("revocation", None, "revocation.unchecked", {"day": trust.issued_at}))
    validity, forced = validity_check(seal.document.valid_from, seal.document.valid_until, now)
    checks.append(validity)
    if not trusted:
        outcome = Outcome.UNTRUSTED_ISSUER
    elif forced is not None:
        outcome = forced
    else:
        outcome = Outcome.VALID_REVOCATION_UNCHECKED
    anchor = {"chainId": seal.chain_id, "registry": seal.registry, "anchoredAt": seal.anchored_at}
    return Verdict(
        outcome, tuple(checks), sha, issuer=issuer, anchor=anchor, document=document, trust_anchor=trust_info
    )
