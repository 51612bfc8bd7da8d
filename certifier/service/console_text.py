"""The issuer console's words, in French and English, by key (the language is chosen as on the
verifier page: ``?lang=``, then the ``lang`` cookie, then Accept-Language).

A dict like verifier/i18n.py rather than gettext: two languages, a few dozen sentences, no build
step for catalogues, and a test can read every sentence of both languages straight from here.
"""

from __future__ import annotations

from typing import Any

TEXT: dict[str, dict[str, str]] = {
    # every page
    "title": {"fr": "Console de l'émetteur", "en": "Issuer console"},
    "brand": {"fr": "Sceau · console de l'émetteur", "en": "Sceau · issuer console"},
    "skip": {"fr": "Aller au contenu", "en": "Skip to content"},
    "language": {"fr": "Langue", "en": "Language"},
    "logout": {"fr": "Se déconnecter", "en": "Log out"},
    "back": {"fr": "Retour à la console", "en": "Back to the console"},
    # login
    "login_title": {"fr": "Connexion", "en": "Log in"},
    "login_intro": {
        "fr": "Utilisez un jeton d'API de votre établissement",
        "en": "Use an API token of your institution",
    },
    "token": {"fr": "Jeton d'API", "en": "API token"},
    "login_button": {"fr": "Se connecter", "en": "Log in"},
    "login_refused": {
        "fr": "Jeton d'API inconnu ou révoqué : vérifiez-le, ou demandez-en un nouveau.",
        "en": "Unknown API token, or a revoked one: check it, or ask for a new one.",
    },
    "login_no_read": {
        "fr": "Ce jeton d'API n'a pas le droit « read », dont la console a besoin.",
        "en": "This API token lacks the 'read' scope, which the console needs.",
    },
    # home: issuing
    "issue_title": {"fr": "Délivrer une promotion", "en": "Issue a cohort"},
    "roster": {
        "fr": "Liste de la promotion (CSV : reference, family_name, given_names, degree, date, file)",
        "en": "Roster (CSV: reference, family_name, given_names, degree, date, file)",
    },
    "archive": {"fr": "Les PDF (ZIP)", "en": "The PDFs (ZIP)"},
    "with_credentials": {
        "fr": "Délivrer aussi chaque diplôme comme attestation numérique vérifiable (Open Badges 3.0)",
        "en": "Also issue each diploma as a Verifiable Credential (Open Badges 3.0)",
    },
    "submit_cohort": {"fr": "Envoyer la promotion", "en": "Submit the cohort"},
    "progress": {"fr": "Progression de l'envoi", "en": "Upload progress"},
    "accepted": {"fr": "{count} documents acceptés en un seul lot", "en": "{count} documents accepted as one batch"},
    "refused": {"fr": "envoi refusé", "en": "upload refused"},
    "roster_problems": {
        "fr": "La promotion est refusée : {count} problème(s) dans la liste ou l'archive (détail ci-dessous).",
        "en": "The cohort is refused: {count} problem(s) in the roster or the archive (details below).",
    },
    "roster_conflict": {
        "fr": "La promotion n'a pas pu être acceptée maintenant : rechargez la page et réessayez.",
        "en": "The cohort could not be accepted now: reload the page and try again.",
    },
    "no_issue": {
        "fr": "ce jeton n'a pas le droit « issue » (délivrer)",
        "en": "this token lacks the 'issue' scope",
    },
    # home: batches and documents
    "batches": {"fr": "Lots", "en": "Batches"},
    "created": {"fr": "Créé le", "en": "Created"},
    "kind": {"fr": "Type", "en": "Kind"},
    "documents": {"fr": "Documents", "en": "Documents"},
    "status": {"fr": "État", "en": "Status"},
    "transaction": {"fr": "Transaction", "en": "Transaction"},
    "no_batches": {"fr": "Aucun lot pour l'instant.", "en": "No batches yet."},
    "file": {"fr": "Fichier", "en": "File"},
    "reference": {"fr": "Référence", "en": "Reference"},
    "download": {"fr": "Télécharger", "en": "Download"},
    "revoke": {"fr": "Révoquer", "en": "Revoke"},
    "receipt": {"fr": "reçu", "en": "receipt"},
    "certified_pdf": {"fr": "PDF certifié", "en": "certified PDF"},
    "credential": {"fr": "attestation numérique", "en": "credential"},
    "reason_for": {"fr": "Motif pour {name}", "en": "Reason for {name}"},
    "reason_placeholder": {"fr": "motif…", "en": "reason…"},
    "no_documents": {"fr": "Aucun document pour l'instant.", "en": "No documents yet."},
    # one document
    "document": {"fr": "Document", "en": "Document"},
    "valid_from": {"fr": "Valable à partir du", "en": "Valid from"},
    "validity": {"fr": "Validité", "en": "Validity"},
    "batch": {"fr": "Lot", "en": "Batch"},
    "revoked_for": {"fr": "Révoqué, motif : {reason}", "en": "Revoked, reason: {reason}"},
    # revocation
    "confirm_title": {"fr": "Confirmer la révocation", "en": "Confirm the revocation"},
    "confirm_question": {"fr": "Révoquer {name} ?", "en": "Revoke {name}?"},
    "confirm_what": {
        "fr": "Le registre inscrira sur la blockchain que ce document est révoqué, pour le motif",
        "en": "The registry will record on chain that this document is revoked, for the reason",
    },
    "confirm_then": {
        "fr": "Tout vérificateur le signalera alors comme révoqué.",
        "en": "Every verifier will then report it as revoked.",
    },
    "cannot_undo": {"fr": "C'est irréversible.", "en": "This cannot be undone."},
    "reason": {"fr": "Motif", "en": "Reason"},
    "confirm_button": {"fr": "Confirmer la révocation", "en": "Confirm revocation"},
    "cancel": {"fr": "Annuler", "en": "Cancel"},
    "choose_reason": {
        "fr": "choisissez un motif pour révoquer {name}",
        "en": "choose a reason to revoke {name}",
    },
    "no_revoke": {
        "fr": "ce jeton n'a pas le droit « revoke » (révoquer)",
        "en": "this token lacks the 'revoke' scope",
    },
    "queued": {
        "fr": "révocation de {name} mise en file d'attente ({reason})",
        "en": "revocation of {name} queued ({reason})",
    },
    "revoke_refused": {
        "fr": "La révocation de {name} est refusée : déjà révoqué, ou pas encore ancré.",
        "en": "The revocation of {name} is refused: already revoked, or not anchored yet.",
    },
    # problems
    "expired_title": {"fr": "Formulaire expiré", "en": "Form expired"},
    "expired_heading": {"fr": "Ce formulaire a expiré", "en": "This form has expired"},
    "expired_text": {
        "fr": "Le formulaire n'a pas pu être contrôlé : rechargez la page et réessayez.",
        "en": "The form could not be checked: reload the page and try again.",
    },
    "not_found": {"fr": "Ce document n'existe pas ici.", "en": "There is no such document here."},
    "not_ready": {
        "fr": "La copie certifiée de ce document n'existe pas encore : elle existe une fois le document confirmé.",
        "en": "This document's certified copy does not exist yet: it exists once the document is confirmed.",
    },
    "credential_not_ready": {
        "fr": "L'attestation numérique de ce document n'existe pas encore : elle existe peu après sa confirmation.",
        "en": "This document's credential does not exist yet: it exists shortly after the document is confirmed.",
    },
    "problem_title": {"fr": "Page indisponible", "en": "Page unavailable"},
}

#: Where a batch or a document stands (certifier.store.states), in a word or two.
STATUSES: dict[str, dict[str, str]] = {
    "built": {"fr": "préparé", "en": "built"},
    "signed": {"fr": "signé", "en": "signed"},
    "sent": {"fr": "envoyé", "en": "sent"},
    "mined": {"fr": "inscrit dans un bloc", "en": "mined"},
    "confirmed": {"fr": "confirmé", "en": "confirmed"},
    "failed": {"fr": "échoué", "en": "failed"},
    "pending": {"fr": "en attente", "en": "pending"},
    "anchoring": {"fr": "en cours d'ancrage", "en": "anchoring"},
    "anchored": {"fr": "ancré", "en": "anchored"},
    "revoked": {"fr": "révoqué", "en": "revoked"},
}


def t(key: str, lang: str, **params: Any) -> str:
    """The words of `key` in `lang`, `params` put in."""
    words = TEXT[key][lang]
    return words.format(**params) if params else words


def status(value: object, lang: str) -> str:
    return STATUSES.get(str(value), {}).get(lang, str(value))
