"""Words (French, English) of the checks that verifier.credentials.verify adds, registered into the one
catalogue (verifier.core.messages, and the check names of i18n.py) when this module is imported."""

from __future__ import annotations

from verifier import i18n
from verifier.core import messages

CHECKS: dict[str, dict[str, str]] = {
    "proof": {"fr": "Signature de la credential (eddsa-rdfc-2022)", "en": "Credential proof (eddsa-rdfc-2022)"},
    "credential": {"fr": "Credential conforme à son ancrage", "en": "Credential matches its anchor"},
    "credential_key": {"fr": "Clé de signature enregistrée", "en": "Signing key registered"},
    "document_revocation": {"fr": "Document certifié non révoqué", "en": "Certified document not revoked"},
}

MESSAGES: dict[str, dict[str, str]] = {
    "credential.proof_ok": {
        "en": "the credential's Data Integrity proof holds (key {method})",
        "fr": "la preuve Data Integrity de la credential est valide (clé {method})",
    },
    "credential.proof_bad": {
        "en": "the credential's proof does not hold: the credential was altered ({problem})",
        "fr": "la preuve de la credential n'est pas valide : la credential a été modifiée ({problem})",
    },
    "credential.consistent": {
        "en": "the credential says what was anchored: dates, displayed fields, issuer, document",
        "fr": "la credential dit ce qui a été ancré : dates, mentions, émetteur, document",
    },
    "credential.inconsistent": {
        "en": "the credential says something else than what was anchored: {problems}",
        "fr": "la credential dit autre chose que ce qui a été ancré : {problems}",
    },
    "credential_key.ok": {
        "en": "the signing key {address} is registered for {issuer} and was valid when anchoring",
        "fr": "la clé de signature {address} est enregistrée pour {issuer} et était valide lors de l'ancrage",
    },
    "credential_key.not_registered": {
        "en": "the signing key {address} is not registered in the trusted registry",
        "fr": "la clé de signature {address} n'est pas enregistrée dans le registre de confiance",
    },
    "credential_key.other_issuer": {
        "en": "the signing key {address} belongs to another issuer than the one that anchored the credential",
        "fr": "la clé de signature {address} appartient à un autre émetteur que celui qui a ancré la credential",
    },
    "credential_key.not_valid": {
        "en": "the signing key {address} was not valid when the credential was anchored ({date})",
        "fr": "la clé de signature {address} n'était pas valide lors de l'ancrage de la credential ({date})",
    },
    "document_revocation.ok": {
        "en": "the certified document is not revoked either",
        "fr": "le document certifié n'est pas révoqué non plus",
    },
    "document_revocation.revoked": {
        "en": "the certified document was revoked ({reason})",
        "fr": "le document certifié a été révoqué ({reason})",
    },
    "document_revocation.missing": {
        "en": "the certified document named by the credential is not in its batch",
        "fr": "le document certifié désigné par la credential n'est pas dans son lot",
    },
}


def register() -> None:
    """Add these words to the catalogue, never replacing words already there."""
    for code, words in MESSAGES.items():
        messages.MESSAGES.setdefault(code, words)
    for check, words in CHECKS.items():
        i18n.CHECKS.setdefault(check, words)
