"""API tokens: random bearer secrets, stored only as SHA-256 hashes, scoped and revocable."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from certifier.errors import RequestError
from certifier.store.db import Token, audit, now
from verifier.core.errors import ConfigurationError

SCOPES = ("issue", "revoke", "read")
PREFIX = "sceau_"


class Unauthorized(RequestError):
    """No usable token: 401."""

    status = 401


class Forbidden(RequestError):
    """A valid token without the scope needed: 403."""

    status = 403


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(value: str | Iterable[str]) -> list[str]:
    items = [s.strip() for s in (value.split(",") if isinstance(value, str) else value) if s.strip()]
    unknown = [s for s in items if s not in SCOPES]
    if unknown or not items:
        raise ConfigurationError(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    return sorted(set(items), key=SCOPES.index)


def create_token(session: Session, issuer: str, scopes: list[str], label: str | None = None) -> tuple[Token, str]:
    """Returns the token row and the secret, which is shown once and never stored."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = Token(issuer=issuer, token_hash=_hash(secret), scopes=",".join(scopes), label=label)
    session.add(token)
    session.flush()
    audit(session, issuer, "cli", "token.created", token.id, {"scopes": scopes, "label": label})
    return token, secret


def revoke_token(session: Session, token_id: str) -> Token:
    token = session.get(Token, token_id)
    if token is None:
        raise ConfigurationError(f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now()
        audit(session, token.issuer, "cli", "token.revoked", token.id)
    return token


def authenticate(session: Session, header: str | None) -> Token:
    if not header or not header.startswith("Bearer "):
        raise Unauthorized(
            "send an API token as 'Authorization: Bearer <token>' (create one with `sceau token create`)"
        )
    token = session.scalar(select(Token).where(Token.token_hash == _hash(header[7:].strip())))
    if token is None:
        raise Unauthorized("unknown API token")
    if token.revoked_at is not None:
        raise Unauthorized("this API token was revoked")
    return token


def require_scope(token: Token, scope: str) -> None:
    if scope not in token.scopes.split(","):
        raise Forbidden(f"this token lacks the '{scope}' scope (it has: {token.scopes})")
