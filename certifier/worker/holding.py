"""Holding an issuer the worker cannot go on for (a key that cannot be opened, no funds, the chain
unreachable, anything unexpected), saying why once where people look, and letting it go on.

The reason goes to its documents' ``failure``, its batches in flight, ``issuer_states`` (what
`sceau status` and /healthz read), the audit log and one log line; the issuer is tried again
after 1, 2, 4… seconds up to ``retry_max``. Other issuers go on meanwhile."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import requests
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3.exceptions import Web3Exception

from certifier.keys.custody import KeyLocked
from certifier.settings import Settings
from certifier.store.db import Batch, Document, IssuerState, audit, now
from certifier.store.states import IN_FLIGHT, DocumentStatus
from verifier.core.errors import ChainError, ChainUnreachable, SceauError

log = logging.getLogger("sceau.worker")

#: Problems whose wording varies from one try to the next (balances, connection details): said
#: once per code, not once per wording.
_SAID_BY_CODE = ("out_of_funds", "chain_unreachable")
#: Documents a held issuer's reason is shown on: those not in a transaction that went through.
_WAITING = (DocumentStatus.pending, DocumentStatus.anchoring)


class OutOfFunds(SceauError):
    """The issuer's key cannot pay for its next transaction; the worker resumes once refunded."""


@dataclass(frozen=True)
class Problem:
    """Why an issuer is held: a stable code and words a person can act on."""

    code: str
    reason: str


def classify(exc: BaseException) -> Problem:
    if isinstance(exc, KeyLocked):
        return Problem("key_locked", str(exc))
    if isinstance(exc, OutOfFunds):
        return Problem("out_of_funds", str(exc))
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return Problem("chain_unreachable", f"the chain's RPC answers HTTP {exc.response.status_code}; retrying")
    if isinstance(exc, ChainUnreachable | OSError | TimeoutError):
        return Problem("chain_unreachable", f"the chain does not answer ({type(exc).__name__}); retrying")
    if isinstance(exc, ChainError | Web3Exception):
        return Problem("chain_error", f"the chain refused a request: {exc}")
    if isinstance(exc, SceauError):
        return Problem("error", str(exc))
    return Problem("internal_error", f"unexpected {type(exc).__name__}: {exc} (see the worker's log)")


def backoff(settings: Settings, failures: int) -> float:
    """Seconds to wait after `failures` in a row: 1, 2, 4… up to ``retry_max``."""
    return float(min(settings.retry_max, settings.retry_base * 2 ** min(failures - 1, 30)))


class Holds:
    """The issuers held by this worker, when each is tried again, and what was said of each."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self.last_error: str | None = None
        #: Why the chain does not answer, while it does not (the heartbeat carries it to /healthz).
        self.chain_error: str | None = None
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._said: dict[str, tuple[str, str]] = {}

    def waiting(self, issuer: str) -> bool:
        """Whether the issuer's next try is not due yet."""
        return self._retry_at.get(issuer, 0.0) > time.monotonic()

    def hold(self, issuer: str, exc: Exception) -> None:
        """Hold the issuer for what `exc` says, and say why where it was not said yet."""
        problem = classify(exc)
        self.last_error = f"{issuer}: {problem.reason}"
        failures = self._failures[issuer] = self._failures.get(issuer, 0) + 1
        delay = backoff(self.settings, failures)
        self._retry_at[issuer] = time.monotonic() + delay
        if problem.code == "chain_unreachable":
            self.chain_error = problem.reason
        said = (problem.code, "" if problem.code in _SAID_BY_CODE else problem.reason)
        first = self._said.get(issuer) != said
        if first:
            self._said[issuer] = said
            if problem.code == "internal_error":
                log.error("%s: %s", issuer, problem.reason, exc_info=exc)
            else:
                log.warning("%s: %s (held; next try in %.0f s, then less often)", issuer, problem.reason, delay)
        with self.sessions() as s:
            t = now()
            row = s.get(IssuerState, issuer)
            if row is None:
                row = IssuerState(issuer=issuer, code=problem.code, reason=problem.reason, since=t)
                s.add(row)
                changed = True
            else:
                changed = (row.code, row.reason) != (problem.code, problem.reason)
                if row.code != problem.code:
                    row.since = t
                row.code, row.reason = problem.code, problem.reason
            row.updated_at, row.failures, row.retry_at = t, failures, t + delay
            # where the registrar looks: the documents held (those submitted since too), and batches
            s.execute(
                update(Document)
                .where(
                    Document.issuer == issuer,
                    Document.status.in_(_WAITING),
                    Document.failure.is_distinct_from(problem.reason),
                )
                .values(failure=problem.reason)
            )
            if changed:
                s.execute(
                    update(Batch)
                    .where(Batch.issuer == issuer, Batch.status.in_(IN_FLIGHT))
                    .values(last_error=problem.reason)
                )
            if first:
                audit(s, issuer, "worker", "issuer.held", None, {"code": problem.code, "reason": problem.reason})
            try:
                s.commit()
            except IntegrityError:  # another worker recorded it at the same moment
                s.rollback()

    def release(self, issuer: str) -> None:
        """The issuer's pass went through: if it was held, clear the reason everywhere it was said."""
        self._failures.pop(issuer, None)
        self._retry_at.pop(issuer, None)
        self._said.pop(issuer, None)
        with self.sessions() as s:
            row = s.get(IssuerState, issuer)
            if row is None:
                return
            s.delete(row)
            s.execute(
                update(Document).where(Document.issuer == issuer, Document.status.in_(_WAITING)).values(failure=None)
            )
            s.execute(
                update(Batch)
                .where(Batch.issuer == issuer, Batch.status.in_(IN_FLIGHT), Batch.last_error == row.reason)
                .values(last_error=None)
            )
            held = {"was": row.code, "heldSeconds": round(now() - row.since)}
            audit(s, issuer, "worker", "issuer.resumed", None, held)
            s.commit()
        self.last_error = None
        if row.code == "chain_unreachable":
            self.chain_error = None
        log.info("%s: going on again after %.0f s (was: %s)", issuer, now() - row.since, row.code)
