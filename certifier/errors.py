"""The issuer service's errors, under the one error tree (verifier.core.errors.SceauError), and the
one place that says which HTTP status each answers."""

from __future__ import annotations

from verifier.core.errors import (
    ChainError,
    ConfigurationError,
    DocumentError,
    InvalidReceipt,
    SceauError,
    TrustError,
)


class RequestError(SceauError):
    """A request the service cannot serve as asked; `status` says how."""

    status = 400


def http_status(exc: SceauError) -> int:
    """The status an error answers, decided here once for every view."""
    if isinstance(exc, RequestError):
        return exc.status
    if isinstance(exc, ChainError | TrustError | ConfigurationError):
        return 503  # the service's surroundings, not the request: try again later
    if isinstance(exc, DocumentError | InvalidReceipt):
        return 422  # well formed, but the document or receipt cannot be used
    return 500
