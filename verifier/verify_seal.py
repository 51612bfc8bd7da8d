"""Verification of a seal (the QR payload): offline against a trust list, online against the chain."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from .chain import ChainReader
from .kinds import kind_name
from .merkle import verify_proof
from .seal import InvalidSeal, Seal, canonical_fields
from .trustlist import TrustList
from .verdict import Check, Outcome, Verdict, error_verdict
from .verify import verify_document


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def verify_seal(
    seal: Seal, *, reader: ChainReader | None = None, trust: TrustList | None = None, now: int | None = None
) -> Verdict:
    """Online when `reader` is given (chain, accreditation at anchoring, revocation); otherwise
    offline with `trust` (signature by a key the trust list accredits, proof, expiry)."""
    now = int(time.time()) if now is None else now
    try:
        signer = seal.signer()
    except InvalidSeal as exc:
        return error_verdict(str(exc))
    sha = seal.document.sha256.hex()
    if seal.fields and hashlib.sha256(canonical_fields(seal.fields)).digest() != seal.document.sha256:
        return Verdict(
            Outcome.TAMPERED,
            (Check("integrity", False, "the displayed fields differ from the sealed ones"),),
            sha,
            document={"fields": seal.fields},
        )
    if reader is not None:
        verdict = verify_document(seal.document.sha256, seal.as_receipt(signer), reader, now=now, from_seal=True)
        document = {**verdict.document, "fields": seal.fields}
        online = (Check("signature", True, f"signed by key {signer}"), *verdict.checks)
        return Verdict(
            verdict.outcome,
            online,
            verdict.sha256,
            verdict.issuer,
            verdict.anchor,
            verdict.revocation,
            document,
            verdict.error,
        )
    if trust is None:
        return error_verdict("offline verification needs a trust list (sceau trustlist export)", sha)
    checks: list[Check] = []
    key = trust.lookup(signer)
    document = {
        "kind": kind_name(seal.document.kind),
        "fields": seal.fields,
        "validFrom": seal.document.valid_from,
        "validUntil": seal.document.valid_until or None,
    }
    if seal.chain_id != trust.chain_id or seal.registry.lower() != trust.registry.lower():
        return error_verdict(f"the seal is for chain {seal.chain_id}, the trust list for chain {trust.chain_id}", sha)
    issued = seal.anchored_at
    if key is None:
        checks.append(Check("signature", False, f"signed by {signer}, a key the trust list does not know"))
        return Verdict(Outcome.UNTRUSTED_ISSUER, tuple(checks), sha, document=document)
    trusted = key.valid_at(issued)
    checks.append(
        Check(
            "signature",
            trusted,
            f"signed by {key.issuer} ({key.identifier}), accredited by {key.accreditor}"
            if trusted
            else f"signed by {key.issuer}, whose key was not accredited when it anchored ({_date(issued)})",
        )
    )
    permitted = kind_name(seal.document.kind) in key.kinds  # unknown codes are named "kind-N": never listed
    proof_ok = verify_proof(seal.root, seal.as_receipt(signer).leaf, seal.proof)
    checks.append(
        Check(
            "merkle_proof",
            proof_ok,
            "the proof leads to the anchored root"
            if proof_ok
            else "the proof does not lead to the root: the seal was altered",
        )
    )
    checks.append(Check("revocation", None, f"not checked offline (trust list of {_date(trust.exported_at)})"))
    expired = bool(seal.document.valid_until) and now >= seal.document.valid_until
    checks.append(
        Check(
            "expiry",
            not expired,
            f"expired on {_date(seal.document.valid_until)}"
            if expired
            else (
                f"valid until {_date(seal.document.valid_until)}" if seal.document.valid_until else "does not expire"
            ),
        )
    )
    issuer = {
        "id": key.issuer_id,
        "name": key.issuer,
        "identifier": key.identifier,
        "key": key.address,
        "accreditorName": key.accreditor,
    }
    if not proof_ok:
        outcome = Outcome.TAMPERED
    elif not trusted or not permitted:
        outcome = Outcome.UNTRUSTED_ISSUER
    elif expired:
        outcome = Outcome.EXPIRED
    else:
        outcome = Outcome.VALID
    return Verdict(outcome, tuple(checks), sha, issuer=issuer, document=document)
