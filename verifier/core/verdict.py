"""The verifier's answer: a verdict, every check made, and what the chain says about the document."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.StrEnum):
    VALID = "valid"
    TAMPERED = "tampered"
    UNKNOWN = "unknown"
    UNTRUSTED_ISSUER = "untrusted_issuer"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    #: offline: signature, proof and accreditation hold, but revocation could not be seen
    VALID_REVOCATION_UNCHECKED = "valid_revocation_unchecked"
    #: a seal that binds no displayed content: it proves a document of its issuer exists, not
    #: that the paper in hand is that document
    SEAL_ONLY = "seal_only"
    ERROR = "error"

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]


_EXIT_CODES = {
    Outcome.VALID: 0,
    Outcome.TAMPERED: 1,
    Outcome.UNKNOWN: 1,
    Outcome.UNTRUSTED_ISSUER: 1,
    Outcome.REVOKED: 2,
    Outcome.EXPIRED: 3,
    Outcome.ERROR: 4,
    Outcome.NOT_YET_VALID: 5,
    Outcome.VALID_REVOCATION_UNCHECKED: 6,
    Outcome.SEAL_ONLY: 7,
}


@dataclass(frozen=True, slots=True)
class Check:
    """One step of verification: a stable `code` and its `params`, whose words (French, English)
    come from the catalogue in i18n.py. ``ok`` is None when the step could not be made."""

    id: str
    ok: bool | None
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        """In English, for logs and the JSON answer."""
        return self.text("en")

    def text(self, lang: str) -> str:
        from verifier.core.messages import message

        return message(self.code, self.params, lang)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ok": self.ok, "code": self.code, "params": self.params, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    checks: tuple[Check, ...]
    sha256: str | None
    issuer: dict[str, Any] | None = None
    anchor: dict[str, Any] | None = None
    revocation: dict[str, Any] | None = None
    document: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # technical detail, for logs and the JSON answer; never shown on the page
    trust_anchor: dict[str, Any] | None = None  # the anchor the verdict rests on
    error_code: str | None = None  # what a person reads instead (verifier.core.messages)
    block: dict[str, Any] | None = None  # the block (number, hash, timestamp) the chain was read at

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verdict": self.outcome.value,
            "checks": [c.to_dict() for c in self.checks],
            "document": {"sha256": self.sha256, **self.document},
            "issuer": self.issuer,
            "anchor": self.anchor,
            "revocation": self.revocation,
            "trustAnchor": self.trust_anchor,
            "block": self.block,
        }
        if self.error is not None:
            out["error"] = self.error
            out["errorCode"] = self.error_code or "error.other"
        return out


def error_verdict(
    message: str,
    sha256: str | None = None,
    checks: tuple[Check, ...] = (),
    trust_anchor: dict[str, Any] | None = None,
    *,
    code: str = "error.other",
) -> Verdict:
    """A verdict for when no decision is possible: unreachable chain, malformed receipt, wrong chain.
    `message` is the technical detail; `code` what a person reads."""
    return Verdict(Outcome.ERROR, checks, sha256, error=message, trust_anchor=trust_anchor, error_code=code)


def error_code(exc: BaseException) -> str:
    """The person-facing code of an error that stopped a verification."""
    from verifier.core import errors

    for kind, code in (
        (errors.ChainUnreachable, "error.chain_unreachable"),
        (errors.WrongChain, "error.wrong_chain"),
        (errors.NotDeployed, "error.chain"),
        (errors.ChainError, "error.chain"),
        (errors.NoTrustAnchors, "error.no_trust_anchors"),
        (errors.StaleTrustList, "error.stale_trust_list"),
        (errors.TrustError, "error.trust_list"),
        (errors.InvalidSeal, "error.seal"),
        (errors.InvalidReceipt, "error.malformed_receipt"),
        (errors.DocumentError, "error.document"),
    ):
        if isinstance(exc, kind):
            return code
    return "error.other"


def error_from(exc: BaseException, sha256: str | None = None, checks: tuple[Check, ...] = (), **kw: Any) -> Verdict:
    return error_verdict(str(exc), sha256, checks, code=error_code(exc), **kw)
