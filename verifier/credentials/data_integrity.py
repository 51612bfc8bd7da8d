"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C "Data Integrity EdDSA
Cryptosuites v1.0", §3.3), verified with Ed25519 from ``cryptography``.

The signed bytes are ``SHA-256(canonical proof configuration) ‖ SHA-256(canonical document)``,
both canonicalized with RDFC-1.0; the proof configuration is the proof without ``proofValue``,
under the document's ``@context``. Signing (certifier.keys.credential_keys) uses ``hash_data`` too."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.credentials.didkey import b58decode, public_key_of
from verifier.credentials.errors import InvalidCredential
from verifier.credentials.linked_data import canonical_nquads

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


@dataclass(frozen=True)
class ProofResult:
    ok: bool
    verification_method: str
    public_key: bytes | None
    problem: str | None = None


def proof_options(verification_method: str, created: str, purpose: str = "assertionMethod") -> dict[str, Any]:
    return {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": purpose,
    }


def hash_data(unsecured: dict[str, Any], options: dict[str, Any]) -> bytes:
    """§3.3.4 (hashing) over §3.3.5 (proof configuration) and §3.3.3 (transformation)."""
    if "proof" in unsecured or "proofValue" in options:
        raise InvalidCredential("hash_data takes the document without its proof and the proof without its value")
    config = {**options, "@context": unsecured["@context"]}
    return (
        hashlib.sha256(canonical_nquads(config).encode()).digest()
        + hashlib.sha256(canonical_nquads(unsecured).encode()).digest()
    )


def verify_proof(secured: dict[str, Any], *, purpose: str = "assertionMethod") -> ProofResult:
    """Check the single ``eddsa-rdfc-2022`` proof of `secured`, its key taken from its did:key
    verification method (no network). A proof of another form is InvalidCredential; a signature
    that does not hold is a result with ok False."""
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise InvalidCredential("the credential has no proof, or more than one (exactly one is expected)")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    method = proof.get("verificationMethod")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise InvalidCredential(f"the proof is not a {PROOF_TYPE} of cryptosuite {CRYPTOSUITE}")
    if proof.get("proofPurpose") != purpose:
        raise InvalidCredential(f"the proof's purpose is not {purpose}")
    if not isinstance(method, str):
        raise InvalidCredential("the proof names no verification method")
    created = proof.get("created")
    if created is not None and not (isinstance(created, str) and _DATETIME.fullmatch(created)):
        raise InvalidCredential("the proof's creation date is not an XML Schema dateTime")
    if "@context" in proof:
        raise InvalidCredential("an embedded proof carries no @context of its own")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise InvalidCredential("the proof's value is not multibase base58btc (z…)")
    public_key = public_key_of(method)
    signature = b58decode(value[1:])
    if len(signature) != 64:
        return ProofResult(False, method, public_key, "the signature is not 64 bytes")
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, hash_data(unsecured, options))
    except InvalidSignature:
        return ProofResult(False, method, public_key, "the signature does not match the credential")
    return ProofResult(True, method, public_key)
