"""French and English for the verifier page and the command line: the page's own texts and
headlines (the words of every check and error live in verifier.core.messages)."""

from __future__ import annotations

from typing import Any

from verifier.core.kinds import LABELS
from verifier.core.messages import REASONS, message

LANGS = ("fr", "en")

TEXT: dict[str, dict[str, str]] = {
    "title": {"fr": "Vérifier un document", "en": "Verify a document"},
    "intro": {
        "fr": "Déposez un PDF certifié, ou un document avec son reçu, ou collez le contenu d'un QR code. "
        "La vérification se fait sur la blockchain publique, sans passer par l'émetteur.",
        "en": "Drop a certified PDF, or a document with its receipt, or paste the content of a QR code. "
        "Verification reads the public blockchain, not the issuer's servers.",
    },
    "file": {"fr": "Document (PDF certifié ou tout fichier)", "en": "Document (certified PDF or any file)"},
    "receipt": {
        "fr": "Reçu (.receipt.json), si le document n'est pas un PDF certifié",
        "en": "Receipt (.receipt.json), if the document is not a certified PDF",
    },
    "seal": {"fr": "Ou : contenu du QR code (commence par SC1:)", "en": "Or: QR code content (starts with SC1:)"},
    "seal_image": {"fr": "Ou : photo du QR code", "en": "Or: photo of the QR code"},
    "scan": {"fr": "Scanner avec la caméra", "en": "Scan with the camera"},
    "submit": {"fr": "Vérifier", "en": "Verify"},
    "again": {"fr": "Vérifier un autre document", "en": "Verify another document"},
    "checks": {"fr": "Contrôles effectués", "en": "Checks made"},
    "chain_of_trust": {"fr": "Chaîne d'accréditation", "en": "Accreditation chain"},
    "root": {"fr": "Autorité racine du registre", "en": "Registry root authority"},
    "accreditor": {"fr": "Accréditeur", "en": "Accreditor"},
    "issuer": {"fr": "Émetteur", "en": "Issuer"},
    "anchoring": {"fr": "Ancrage sur la blockchain", "en": "Anchoring on the blockchain"},
    "chain": {"fr": "Chaîne", "en": "Chain"},
    "transaction": {"fr": "Transaction", "en": "Transaction"},
    "block": {"fr": "Bloc", "en": "Block"},
    "anchored_at": {"fr": "Ancré le", "en": "Anchored on"},
    "registry": {"fr": "Registre", "en": "Registry"},
    "fields": {"fr": "Mentions scellées", "en": "Sealed fields"},
    "fields_note": {
        "fr": "Le document présenté doit porter exactement ces mentions, mot pour mot.",
        "en": "The document shown must carry exactly these words.",
    },
    "trust_anchor": {"fr": "Ancre de confiance", "en": "Trust anchor"},
    "ok": {"fr": "réussi", "en": "passed"},
    "ko": {"fr": "échoué", "en": "failed"},
    "na": {"fr": "non vérifié", "en": "not checked"},
    "missing": {
        "fr": "Déposez un document, ou collez le contenu d'un QR code.",
        "en": "Drop a document, or paste the content of a QR code.",
    },
    "language": {"fr": "Langue", "en": "Language"},
    "skip": {"fr": "Aller au contenu", "en": "Skip to content"},
    "colon": {"fr": " : ", "en": ": "},
    "too_much": {
        "fr": "Ce fichier demanderait plus de travail que ce vérificateur n'en accepte ({setting} : {limit}).",
        "en": "This file would take more work than this verifier accepts ({setting}: {limit}).",
    },
    "too_big": {
        "fr": "Ce fichier est plus gros que ce vérificateur n'en accepte ({limit} octets).",
        "en": "This file is larger than this verifier accepts ({limit} bytes).",
    },
    "too_often": {
        "fr": "Trop de vérifications depuis cette adresse : réessayez dans quelques instants.",
        "en": "Too many verifications from this address: try again in a moment.",
    },
}

CHECKS: dict[str, dict[str, str]] = {
    "certified_pdf": {"fr": "PDF certifié intact", "en": "Certified PDF intact"},
    "trust_anchor": {"fr": "Registre de confiance", "en": "Trusted registry"},
    "fields": {"fr": "Mentions scellées", "en": "Sealed fields"},
    "integrity": {"fr": "Intégrité du document", "en": "Document integrity"},
    "signature": {"fr": "Signature de l'émetteur", "en": "Issuer's signature"},
    "merkle_proof": {"fr": "Preuve d'inclusion", "en": "Inclusion proof"},
    "anchor": {"fr": "Ancrage sur la blockchain", "en": "Anchored on the blockchain"},
    "issuer": {"fr": "Émetteur accrédité à la date d'ancrage", "en": "Issuer accredited when anchoring"},
    "revocation": {"fr": "Non révoqué", "en": "Not revoked"},
    "expiry": {"fr": "En cours de validité", "en": "Within its validity period"},
}

KIND_NOUNS = LABELS  # one place for kinds' names: verifier.core.kinds


HEADLINES: dict[str, dict[str, str]] = {
    "valid": {
        "fr": "{noun} authentique, délivré par {issuer} le {date}",
        "en": "Authentic {noun_lower}, issued by {issuer} on {date}",
    },
    "tampered": {"fr": "Document non authentique : il a été modifié", "en": "Not authentic: the document was altered"},
    "unknown": {
        "fr": "Document non authentique : inconnu de la blockchain",
        "en": "Not authentic: the blockchain does not know this document",
    },
    "untrusted_issuer": {
        "fr": "Document non authentique : l'émetteur n'était pas accrédité",
        "en": "Not authentic: the issuer was not accredited",
    },
    "revoked": {"fr": "{noun} révoqué par {issuer} ({reason})", "en": "{noun} revoked by {issuer} ({reason})"},
    "expired": {
        "fr": "{noun} authentique mais expiré : valable jusqu'au {until} inclus",
        "en": "Authentic {noun_lower}, but expired: valid until {until} inclusive",
    },
    "not_yet_valid": {
        "fr": "{noun} authentique, mais valable seulement à partir du {date}",
        "en": "Authentic {noun_lower}, but not valid before {date}",
    },
    "valid_revocation_unchecked": {
        "fr": "{noun} authentique selon la liste de confiance, délivré par {issuer} — révocation non vérifiée "
        "(vérifiez en ligne)",
        "en": "Authentic {noun_lower} per the trust list, issued by {issuer} — revocation not checked (check online)",
    },
    "seal_only": {
        "fr": "Code authentique de {issuer}, mais il ne scelle aucune mention : le papier lui-même n'est pas vérifié",
        "en": "Genuine code from {issuer}, but it seals no displayed content: the paper itself was not checked",
    },
    "error": {"fr": "Vérification impossible : {error}", "en": "Could not verify: {error}"},
}


def pick_language(requested: str | None, cookie: str | None, accept: Any) -> str:
    for choice in (requested, cookie):
        if choice in LANGS:
            return str(choice)
    best = accept.best_match(LANGS) if accept is not None else None
    return best or "en"


def t(key: str, lang: str) -> str:
    return TEXT[key][lang]


def number(value: int, lang: str) -> str:
    """A count as a person reads it: 1 000 000 in French (narrow no-break spaces), 1,000,000 in English."""
    return f"{value:,}".replace(",", "\u202f") if lang == "fr" else f"{value:,}"


def headline(verdict: dict[str, Any], lang: str) -> str:
    from datetime import UTC, datetime

    def day(ts: int | None) -> str:
        if not ts:
            return "?"
        d = datetime.fromtimestamp(ts, UTC)
        return d.strftime("%d/%m/%Y") if lang == "fr" else d.strftime("%Y-%m-%d")

    valid_until = (verdict.get("document") or {}).get("validUntil")

    doc = verdict.get("document") or {}
    noun = KIND_NOUNS.get(doc.get("kind", ""), {"fr": "Document", "en": "Document"})[lang]
    issuer = (verdict.get("issuer") or {}).get("name", "?")
    reason = (verdict.get("revocation") or {}).get("reason", "")
    return HEADLINES[verdict["verdict"]][lang].format(
        noun=noun,
        noun_lower=noun.lower(),
        issuer=issuer,
        date=day(doc.get("validFrom")),
        until=day(valid_until - 1 if valid_until else None),  # the last valid day: the bound is exclusive
        reason=REASONS.get(reason, {}).get(lang, reason.replace("_", " ")),
        error=message(verdict.get("errorCode") or "error.other", {}, lang),
    )


#: A verdict in a few words, for the bulk reports and the console (the code stays beside it).
VERDICTS: dict[str, dict[str, str]] = {
    "valid": {"fr": "valide", "en": "valid"},
    "tampered": {"fr": "modifié", "en": "altered"},
    "unknown": {"fr": "inconnu", "en": "unknown"},
    "untrusted_issuer": {"fr": "émetteur non accrédité", "en": "issuer not accredited"},
    "revoked": {"fr": "révoqué", "en": "revoked"},
    "expired": {"fr": "expiré", "en": "expired"},
    "not_yet_valid": {"fr": "pas encore valable", "en": "not yet valid"},
    "valid_revocation_unchecked": {"fr": "révocation non vérifiée", "en": "revocation not checked"},
    "seal_only": {"fr": "sceau seul", "en": "seal only"},
    "error": {"fr": "vérification impossible", "en": "could not verify"},
}

#: The bulk reports' words (verifier.bulk): CSV headers and the printable HTML report.
REPORT: dict[str, dict[str, str]] = {
    "title": {"fr": "Rapport de vérification en masse", "en": "Bulk verification report"},
    "summary": {"fr": "{valid} documents valides sur {total}.", "en": "{valid} of {total} documents valid."},
    "file": {"fr": "fichier", "en": "file"},
    "verdict": {"fr": "verdict", "en": "verdict"},
    "result": {"fr": "résultat", "en": "result"},
    "issuer": {"fr": "émetteur", "en": "issuer"},
    "kind": {"fr": "type", "en": "kind"},
    "anchoredAt": {"fr": "ancré le", "en": "anchoredAt"},
    "revocation": {"fr": "révocation", "en": "revocation"},
    "sha256": {"fr": "sha256", "en": "sha256"},
    "code": {"fr": "code", "en": "code"},
    "detail": {"fr": "détail", "en": "detail"},
    "anchored": {"fr": "Ancré le", "en": "Anchored on"},
}

#: The command line's headlines (`sceau verify`), by verdict.
CLI_HEADLINES: dict[str, dict[str, str]] = {
    "valid": {"en": "VALID: the document is authentic", "fr": "VALIDE : le document est authentique"},
    "tampered": {
        "en": "NOT AUTHENTIC: the document or its receipt was altered",
        "fr": "NON AUTHENTIQUE : le document ou son reçu a été modifié",
    },
    "unknown": {
        "en": "NOT AUTHENTIC: the chain does not know this document",
        "fr": "NON AUTHENTIQUE : la blockchain ne connaît pas ce document",
    },
    "untrusted_issuer": {
        "en": "NOT AUTHENTIC: its issuer had no trusted accreditation when it was anchored",
        "fr": "NON AUTHENTIQUE : son émetteur n'avait pas d'accréditation de confiance lors de l'ancrage",
    },
    "revoked": {"en": "REVOKED by its issuer", "fr": "RÉVOQUÉ par son émetteur"},
    "expired": {"en": "EXPIRED", "fr": "EXPIRÉ"},
    "not_yet_valid": {
        "en": "NOT YET VALID: authentic, but its validity period has not begun",
        "fr": "PAS ENCORE VALABLE : authentique, mais sa période de validité n'a pas commencé",
    },
    "valid_revocation_unchecked": {
        "en": "AUTHENTIC AS OF THE TRUST LIST, REVOCATION NOT CHECKED (check online)",
        "fr": "AUTHENTIQUE SELON LA LISTE DE CONFIANCE, RÉVOCATION NON VÉRIFIÉE (vérifiez en ligne)",
    },
    "seal_only": {
        "en": "SEAL ONLY: the seal is genuine, but it says nothing the paper can be checked against",
        "fr": "SCEAU SEUL : le sceau est authentique, mais il ne dit rien à quoi comparer le papier",
    },
    "error": {"en": "COULD NOT DECIDE", "fr": "VÉRIFICATION IMPOSSIBLE"},
}

CLI: dict[str, dict[str, str]] = {
    "issued_by": {"en": ", issued by {issuer}", "fr": ", délivré par {issuer}"},
    "word_for_word": {"en": "The paper must say, word for word:", "fr": "Le papier doit porter, mot pour mot :"},
    "trust_anchor": {
        "en": "trust anchor: {name}, registry {registry} on chain {chain}",
        "fr": "ancre de confiance : {name}, registre {registry} de la chaîne {chain}",
    },
}
