"""The words of every check and error, in French and English, by stable code: verdicts carry codes
and parameters, and whoever shows them (page, CLI, reports, console) picks the language here."""

from __future__ import annotations

from typing import Any

from verifier.core.kinds import LABELS as KIND_NOUNS

REASONS: dict[str, dict[str, str]] = {
    "fraud": {"fr": "fraude", "en": "fraud"},
    "clerical_error": {"fr": "erreur matérielle", "en": "clerical error"},
    "annulment": {"fr": "annulation", "en": "annulment"},
    "key_compromise": {"fr": "compromission de clé", "en": "key compromise"},
    "superseded": {"fr": "remplacé", "en": "superseded"},
}


# ---------------------------------------------------------------- checks and errors, by stable code
#
# Every check and every error carries a code and parameters; these are their words. A parameter
# named ``date`` (Unix seconds) is shown as a date and time, ``day`` as a day, ``last_day`` as the
# last day of an exclusive bound (valid until 2031-01-01 00:00 is "until 31/12/2030 inclusive"),
# ``reason`` as a revocation reason, ``kind``/``expected_kind`` as a document kind.

MESSAGES: dict[str, dict[str, str]] = {
    "integrity.ok": {
        "en": "the document's SHA-256 fingerprint matches the receipt",
        "fr": "l'empreinte SHA-256 du document correspond au reçu",
    },
    "integrity.mismatch": {
        "en": "the document's fingerprint differs from the receipt's: the document was altered, or the "
        "receipt belongs to another document",
        "fr": "l'empreinte du document diffère de celle du reçu : le document a été modifié, ou le reçu est "
        "celui d'un autre document",
    },
    "merkle_proof.ok": {
        "en": "the receipt's proof leads from the document to the anchored batch",
        "fr": "la preuve du reçu mène du document au lot ancré",
    },
    "merkle_proof.broken": {
        "en": "the receipt's proof does not lead to its batch: the receipt was altered",
        "fr": "la preuve du reçu ne mène pas à son lot : le reçu a été modifié",
    },
    "trust_anchor.ok": {
        "en": "the registry is one this verifier trusts: {name}",
        "fr": "le registre est l'un de ceux auxquels ce vérificateur fait confiance : {name}",
    },
    "trust_anchor.untrusted": {
        "en": "the {what} names registry {registry} on chain {chain_id}, which this verifier does not trust "
        "(it trusts: {trusted}): its answers prove nothing",
        "fr": "le {what} désigne le registre {registry} de la chaîne {chain_id}, auquel ce vérificateur ne fait "
        "pas confiance (il fait confiance à : {trusted}) : ses réponses ne prouvent rien",
    },
    "anchor.ok": {
        "en": "anchored on the blockchain on {date}",
        "fr": "ancré sur la blockchain le {date}",
    },
    "anchor.not_anchored": {
        "en": "the blockchain holds no such batch from this issuer's key",
        "fr": "la blockchain ne connaît pas ce lot pour la clé de cet émetteur",
    },
    "anchor.count_mismatch": {
        "en": "the batch holds {found} documents, not {expected}",
        "fr": "le lot contient {found} documents, et non {expected}",
    },
    "anchor.kind_mismatch": {
        "en": "the batch is of kind {kind}, not {expected_kind}",
        "fr": "le lot est de type {kind}, et non {expected_kind}",
    },
    "anchor.index_out_of_range": {
        "en": "the batch holds {count} documents, none with number {index}",
        "fr": "le lot contient {count} documents, aucun portant le numéro {index}",
    },
    "anchor.proof_rejected": {
        "en": "the registry rejects the receipt's proof",
        "fr": "le registre rejette la preuve du reçu",
    },
    "issuer.ok": {
        "en": "{issuer} ({identifier}) was accredited by {accreditor} when it anchored the document",
        "fr": "{issuer} ({identifier}) était accrédité par {accreditor} lorsqu'il a ancré le document",
    },
    "issuer.key_not_valid": {
        "en": "the issuer's key was not valid on {date} (rotated out, or declared compromised)",
        "fr": "la clé de l'émetteur n'était pas valide le {date} (remplacée, ou déclarée compromise)",
    },
    "issuer.suspended": {
        "en": "{issuer} was suspended on {date}",
        "fr": "{issuer} était suspendu le {date}",
    },
    "revocation.ok": {"en": "not revoked", "fr": "non révoqué"},
    "revocation.revoked": {"en": "revoked: {reason}", "fr": "révoqué : {reason}"},
    "revocation.revoked_on": {"en": "revoked on {date}: {reason}", "fr": "révoqué le {date} : {reason}"},
    "revocation.unchecked": {
        "en": "not checked offline (trust list of {day}): check online",
        "fr": "non vérifiée hors ligne (liste de confiance du {day}) : vérifiez en ligne",
    },
    "validity.forever": {"en": "does not expire", "fr": "sans date d'expiration"},
    "validity.until": {"en": "valid until {last_day} inclusive", "fr": "valable jusqu'au {last_day} inclus"},
    "validity.expired": {"en": "expired after {last_day}", "fr": "expiré depuis le {last_day} au soir"},
    "validity.not_yet": {"en": "not valid before {day}", "fr": "valable seulement à partir du {day}"},
    "certified_pdf.ok": {
        "en": "the file is the certified original plus exactly the receipt and the seal Sceau added",
        "fr": "le fichier est l'original certifié, plus exactement le reçu et le sceau ajoutés par Sceau",
    },
    "certified_pdf.altered": {
        "en": "the certified PDF was changed after certification: {problems}",
        "fr": "le PDF certifié a été modifié après sa certification",
    },
    "certified_pdf.no_original": {
        "en": "no part of this PDF is the certified original: it was altered",
        "fr": "aucune partie de ce PDF n'est l'original certifié : il a été modifié",
    },
    "fields.ok": {
        "en": "the fields shown are the ones anchored: the paper must show them word for word",
        "fr": "les mentions affichées sont celles qui ont été ancrées : le papier doit les porter mot pour mot",
    },
    "fields.mismatch": {
        "en": "the displayed fields differ from the ones anchored",
        "fr": "les mentions affichées diffèrent de celles qui ont été ancrées",
    },
    "fields.omitted": {
        "en": "the seal omits the displayed fields its document binds",
        "fr": "le sceau omet les mentions que son document scelle",
    },
    "fields.none": {
        "en": "this seal binds no displayed content: it proves that its issuer anchored a document, not that "
        "the paper in hand is that document",
        "fr": "ce sceau ne scelle aucune mention : il prouve que son émetteur a ancré un document, pas que le "
        "papier présenté est ce document",
    },
    "signature.ok": {
        "en": "signed by the key that anchored the document",
        "fr": "signé par la clé qui a ancré le document",
    },
    "signature.listed": {
        "en": "signed by {issuer} ({identifier}), accredited by {accreditor}",
        "fr": "signé par {issuer} ({identifier}), accrédité par {accreditor}",
    },
    "signature.unknown_key": {
        "en": "signed by a key the trust list does not know",
        "fr": "signé par une clé que la liste de confiance ne connaît pas",
    },
    "signature.not_accredited": {
        "en": "signed by {issuer}, whose key was not accredited on {day}",
        "fr": "signé par {issuer}, dont la clé n'était pas accréditée le {day}",
    },
    "signature.check_online": {
        "en": "signed by {issuer}, but {why}: check online",
        "fr": "signé par {issuer}, mais {why} : vérifiez en ligne",
    },
    "why.compromised": {"en": "its key was declared compromised", "fr": "sa clé a été déclarée compromise"},
    "why.suspended": {"en": "its issuer is suspended", "fr": "son émetteur est suspendu"},
    "why.kind": {"en": "the trust list no longer lists its kind", "fr": "la liste de confiance ne liste plus ce type"},
    # errors: no verdict on the document
    "error.chain_unreachable": {
        "en": "the blockchain cannot be reached; try again later",
        "fr": "la blockchain est injoignable ; réessayez plus tard",
    },
    "error.wrong_chain": {
        "en": "the blockchain node this verifier reads is not the trusted chain",
        "fr": "le nœud de blockchain lu par ce vérificateur n'est pas celui de la chaîne de confiance",
    },
    "error.chain": {
        "en": "the blockchain answered something unexpected",
        "fr": "la blockchain a répondu de façon inattendue",
    },
    "error.malformed_receipt": {"en": "the receipt is malformed", "fr": "le reçu est mal formé"},
    "error.no_receipt": {
        "en": "no receipt was given, and the document is not a certified PDF",
        "fr": "aucun reçu n'a été fourni, et le document n'est pas un PDF certifié",
    },
    "error.no_trust_anchors": {
        "en": "this verifier was given nothing to trust, so it gives no verdict",
        "fr": "ce vérificateur n'a reçu aucune ancre de confiance : il ne rend aucun verdict",
    },
    "error.trust_list": {
        "en": "the trust list cannot be used (unsigned, altered, or of another registry)",
        "fr": "la liste de confiance est inutilisable (non signée, modifiée, ou d'un autre registre)",
    },
    "error.stale_trust_list": {
        "en": "the trust list is out of date: get a fresh one, or check online",
        "fr": "la liste de confiance est périmée : procurez-vous la dernière, ou vérifiez en ligne",
    },
    "error.offline_undecidable": {
        "en": "this seal cannot be decided offline: check online",
        "fr": "ce sceau ne peut pas être vérifié hors ligne : vérifiez en ligne",
    },
    "error.seal": {"en": "this is not a readable Sceau seal", "fr": "ce n'est pas un sceau Sceau lisible"},
    "error.document": {"en": "the document cannot be read", "fr": "le document est illisible"},
    "error.too_large": {"en": "the input is too large", "fr": "le fichier est trop volumineux"},
    "error.other": {"en": "the verification could not be completed", "fr": "la vérification n'a pas pu aboutir"},
}

WHAT: dict[str, dict[str, str]] = {
    "receipt": {"en": "receipt", "fr": "reçu"},
    "seal": {"en": "seal", "fr": "sceau"},
    "PDF": {"en": "PDF", "fr": "PDF"},
}


def when(ts: int, lang: str) -> str:
    from datetime import UTC, datetime

    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%d/%m/%Y à %H:%M UTC") if lang == "fr" else d.strftime("%Y-%m-%d %H:%M UTC")


def day_of(ts: int, lang: str) -> str:
    from datetime import UTC, datetime

    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%d/%m/%Y") if lang == "fr" else d.strftime("%Y-%m-%d")


def message(code: str, params: dict[str, Any], lang: str = "en") -> str:
    """The words of a check or error `code` in `lang`, its parameters put in (dates and names
    translated); an unknown code is shown as it is rather than hidden."""
    words = MESSAGES.get(code, {}).get(lang) or MESSAGES.get(code, {}).get("en") or code
    shown: dict[str, Any] = {}
    for key, value in params.items():
        if key == "date" and isinstance(value, int):
            shown[key] = when(value, lang)
        elif key == "day" and isinstance(value, int):
            shown[key] = day_of(value, lang)
        elif key == "last_day" and isinstance(value, int):
            shown[key] = day_of(value - 1, lang)
        elif key == "reason":
            shown[key] = REASONS.get(str(value), {}).get(lang, str(value).replace("_", " "))
        elif key in ("kind", "expected_kind"):
            shown[key] = KIND_NOUNS.get(str(value), {}).get(lang, str(value))
        elif key == "what":
            shown[key] = WHAT.get(str(value), {}).get(lang, str(value))
        elif key == "why":
            shown[key] = MESSAGES.get(f"why.{value}", {}).get(lang, str(value))
        elif key == "problems" and isinstance(value, list | tuple):
            shown[key] = "; ".join(str(v) for v in value)
        else:
            shown[key] = value
    try:
        return words.format(**shown)
    except (KeyError, IndexError):  # a parameter missing: the words without it rather than nothing
        return words
