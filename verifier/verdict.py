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
    """One step of verification. ``ok`` is None when the step could not be made."""

    id: str
    ok: bool | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    checks: tuple[Check, ...]
    sha256: str | None
    issuer: dict[str, Any] | None = None
    anchor: dict[str, Any] | None = None
    revocation: dict[str, Any] | None = None
    document: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    trust_anchor: dict[str, Any] | None = None  # the anchor the verdict rests on

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
        }
        if self.error is not None:
            out["error"] = self.error
        return out


def error_verdict(
    message: str, sha256: str | None = None, checks: tuple[Check, ...] = (), trust_anchor: dict[str, Any] | None = None
) -> Verdict:
    """A verdict for when no decision is possible: unreachable chain, malformed receipt, wrong chain."""
    return Verdict(Outcome.ERROR, checks, sha256, error=message, trust_anchor=trust_anchor)
