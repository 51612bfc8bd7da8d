"""Who works for which issuer: a renewable lease row per issuer, so that one worker at a time holds
an issuer's nonce, and a heartbeat row per worker, by which /healthz and `sceau status` tell a
live worker from a dead one."""

from __future__ import annotations

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from certifier.store.db import Lease, WorkerBeat, now, rowcount

#: Heartbeats older than this are forgotten (SIGKILLed workers never say goodbye).
FORGET_BEATS_SECONDS = 86400


def acquire(sessions: sessionmaker[Session], issuer: str, holder: str, seconds: float) -> bool:
    """Take or renew the issuer's lease for `seconds`; False while another worker holds it."""
    with sessions() as s:
        t = now()
        renewed = rowcount(
            s.execute(
                update(Lease)
                .where(Lease.issuer == issuer, or_(Lease.holder == holder, Lease.expires_at < t))
                .values(holder=holder, expires_at=t + seconds)
            )
        )
        if renewed == 1:
            s.commit()
            return True
        if s.get(Lease, issuer) is not None:
            return False
        s.add(Lease(issuer=issuer, holder=holder, expires_at=t + seconds))
        try:
            s.commit()
            return True
        except IntegrityError:
            return False


def beat(sessions: sessionmaker[Session], holder: str, chain_error: str | None) -> None:
    """Renew the worker's heartbeat, with why the chain does not answer if it does not."""
    with sessions() as s:
        row = s.get(WorkerBeat, holder)
        if row is None:  # first beat: forget workers long gone
            s.execute(delete(WorkerBeat).where(WorkerBeat.seen_at < now() - FORGET_BEATS_SECONDS))
            row = WorkerBeat(holder=holder, started_at=now())
            s.add(row)
        row.seen_at = now()
        row.chain_error = chain_error
        s.commit()


def release_all(sessions: sessionmaker[Session], holder: str) -> None:
    """Give up every lease and the heartbeat (a clean stop)."""
    with sessions() as s:
        s.execute(update(Lease).where(Lease.holder == holder).values(expires_at=0))
        row = s.get(WorkerBeat, holder)
        if row is not None:
            s.delete(row)
        s.commit()
