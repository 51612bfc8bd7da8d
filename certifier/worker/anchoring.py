"""The anchoring worker: a durable state machine in the database, driving each batch (and each
revocation) from "built" to "confirmed" (the states and their moves: certifier/store/states.py).

Durability rules, each committed before the action it enables:
(1) a document is committed before the API answers 202;
(2) a batch (its documents, salts, indices and root) is recorded before any transaction;
(3) a transaction's hash, nonce, fees and signed bytes are recorded before it is broadcast;
(4) after broadcast, the worker waits for N confirmations, re-checks that the anchor is on the
    canonical chain, re-broadcasts a transaction that vanished (reorg, node restarted without its
    state), and replaces one stuck under low fees with a 25 % higher fee (same nonce).
A root can be anchored only once (the registry refuses a second anchor), so a crash anywhere can
at worst waste a transaction's gas, never anchor a document twice.

One worker at a time holds an issuer's nonce, through a renewable lease row; every state change
is a compare-and-set on the job's status, so two workers can never both sign for one job.

Nothing stops the worker but a signal. What the chain can never take fails alone, with its reason
on the document, the batch and the audit log: a date before 1970, a kind the issuer is not
accredited for, a revert. What may pass holds that issuer only (holding.py). When a batch is
confirmed, the worker (which holds the keys) signs each document's seal and stores its text.

This module holds the loop; each step is in its own module: signing.py (calls, fees, funds),
broadcasting.py (sending and watching), reconciling.py (what the chain already did), jobs.py
(the compare-and-set every move goes through), documents.py, leases.py, holding.py.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.exceptions import Web3Exception

from certifier.chain.deployment import Deployment, registry_contract
from certifier.credentials.batching import CredentialMaker, public_url
from certifier.keys.custody import Custody, LocalSigner, Signer
from certifier.settings import Settings
from certifier.store.db import Batch, Document, Revocation
from certifier.store.documents import form_batches
from certifier.store.states import IN_FLIGHT, DocumentStatus, TxStatus
from certifier.worker import credentials, leases
from certifier.worker.broadcasting import broadcast, watch_mined, watch_sent
from certifier.worker.context import IssuerKeys, WorkerContext
from certifier.worker.documents import reject_unanchorable, seal_confirmed
from certifier.worker.faults import checkpoint
from certifier.worker.holding import Holds, backoff
from certifier.worker.jobs import Job
from certifier.worker.signing import sign
from verifier.core.errors import ChainError

log = logging.getLogger("sceau.worker")
BEAT_SECONDS = 1.0  # heartbeat period (workers table)
SEAL_SCAN_SECONDS = 60.0  # how often to look for confirmed documents still without a seal

Step = Callable[[WorkerContext, str, Job], bool]
#: What the worker does with a job in each state still in flight (True: it did something).
STEPS: dict[TxStatus, Step] = {
    TxStatus.built: sign,
    TxStatus.signed: broadcast,
    TxStatus.sent: watch_sent,
    TxStatus.mined: watch_mined,
}


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        w3: Web3,
        deployment: Deployment,
        settings: Settings,
        accounts: Callable[[str], LocalAccount] | None = None,
        issuers: set[str] | None = None,
        custody: Custody | None = None,
    ) -> None:
        self.sessions = sessions
        self.w3 = w3
        self.settings = settings
        self.holder = f"{socket.gethostname()[:30]}:{os.getpid()}:{id(self):x}"
        custody = custody or Custody()
        if accounts is not None:
            open_signer: Callable[[str], Signer] = lambda name: LocalSigner(accounts(name))  # noqa: E731
        else:
            open_signer = custody.signer
        self.confirmations = settings.confirmations_for(deployment.chain_id)
        self.ctx = WorkerContext(
            sessions=sessions,
            w3=w3,
            deployment=deployment,
            settings=settings,
            contract=registry_contract(w3, deployment.registry),
            keys=IssuerKeys(open_signer, custody.credential_key),
            confirmations=self.confirmations,
        )
        self.holds = Holds(sessions, settings)
        self.only = issuers  # None: every issuer with work
        self._store_error: str | None = None
        self._next_beat = 0.0
        self._next_seal_scan = 0.0
        self._last_scan_at = 0.0  # wall-clock time of the last scan: 0, every revocation ever, at start
        self.credential_maker = CredentialMaker(deployment, public_url(settings.public_url))

    # ------------------------------------------------------------ loop

    def run(self, stop: threading.Event | None = None) -> None:
        """Work until `stop` is set. Only a signal ends this: a failing database is waited for."""
        stop = stop or threading.Event()
        failures = 0
        while not stop.is_set():
            try:
                busy = self.tick()
            except Exception as exc:  # the store itself failed (database down, disk full…)
                failures += 1
                message = f"{type(exc).__name__}: {exc}"
                if message != self._store_error:
                    log.exception("the worker's database failed; retrying with back-off")
                self._store_error = message
                stop.wait(backoff(self.settings, failures))
                continue
            if failures:
                log.info("the worker's database answers again")
                failures, self._store_error = 0, None
            if not busy:
                stop.wait(self.settings.poll_interval)

    def run_until_idle(self, timeout: float = 60) -> None:
        """Work until nothing is in flight (tests and `sceau worker --once`)."""
        deadline = time.monotonic() + timeout
        try:
            while self.tick() or self._in_flight():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"worker still busy after {timeout} s: {self.holds.last_error}")
                time.sleep(0.02)
        finally:
            self.release_all()

    def release_all(self) -> None:
        """Give up every lease and the heartbeat (a clean stop)."""
        leases.release_all(self.sessions, self.holder)

    def tick(self) -> bool:
        """One pass over the issuers with work. An issuer's failure holds that issuer only."""
        self._beat()
        did = False
        for issuer in self._issuers_with_work():
            if self.holds.waiting(issuer):
                continue
            if not leases.acquire(self.sessions, issuer, self.holder, self.settings.lease_seconds):
                continue
            try:
                did |= self._process_issuer(issuer)
            except Exception as exc:  # noqa: BLE001 - held and reported (see holding.py), never hidden
                self.holds.hold(issuer, exc)
            else:
                self.holds.release(issuer)
        return did

    def _beat(self) -> None:
        """Renew this worker's heartbeat (what /healthz reads), and see whether the chain is back."""
        t = time.monotonic()
        if t < self._next_beat:
            return
        self._next_beat = t + BEAT_SECONDS
        if self.holds.chain_error is not None:
            try:
                self.w3.eth.block_number  # noqa: B018
                self.holds.chain_error = None
            except (OSError, Web3Exception, ChainError):
                pass  # still down: the issuers held say so, each once
        leases.beat(self.sessions, self.holder, self.holds.chain_error)

    # ------------------------------------------------------------ what there is to do

    def _in_flight(self) -> bool:
        with self.sessions() as s:
            batches = select(Batch.id).where(Batch.status.in_(IN_FLIGHT))
            revocations = select(Revocation.id).where(Revocation.status.in_(IN_FLIGHT))
            if self.only is not None:
                batches = batches.where(Batch.issuer.in_(self.only))
                revocations = revocations.where(Revocation.issuer.in_(self.only))
            return bool(s.scalar(batches.limit(1)) or s.scalar(revocations.limit(1)))

    def _issuers_with_work(self) -> list[str]:
        with self.sessions() as s:
            pending = select(Document.issuer).where(Document.status == DocumentStatus.pending)
            names = set(s.scalars(pending.distinct()))
            names |= set(s.scalars(select(Batch.issuer).where(Batch.status.in_(IN_FLIGHT)).distinct()))
            names |= set(s.scalars(select(Revocation.issuer).where(Revocation.status.in_(IN_FLIGHT)).distinct()))
            if time.monotonic() >= self._next_seal_scan:
                self._next_seal_scan = time.monotonic() + SEAL_SCAN_SECONDS
                # two queries, not one with OR: each reads its own partial index (migration 0006),
                # which holds only the few confirmed documents still to seal or sign
                confirmed = Document.status == DocumentStatus.confirmed
                unsealed = select(Document.issuer).where(confirmed, Document.seal.is_(None))
                unsigned = select(Document.issuer).where(
                    confirmed, Document.credential_sha256.is_not(None), Document.credential_signed_at.is_(None)
                )
                self.ctx.unsealed = set(s.scalars(unsealed.distinct())) | set(s.scalars(unsigned.distinct()))
                # status lists to publish again: revocations confirmed since the last scan (all of
                # them at start, in case a worker stopped between a confirmation and its publishing)
                since, self._last_scan_at = self._last_scan_at, time.time()
                revoked = select(Revocation.issuer).where(
                    Revocation.status == TxStatus.confirmed, Revocation.confirmed_at >= since - SEAL_SCAN_SECONDS
                )
                self.ctx.republish |= set(s.scalars(revoked.distinct()))
            names |= self.ctx.unsealed | self.ctx.republish
        return sorted(names if self.only is None else names & self.only)

    def _process_issuer(self, issuer: str) -> bool:
        ctx = self.ctx
        did = reject_unanchorable(ctx, issuer)
        size, age = self.settings.batch_size, self.settings.batch_seconds
        with self.sessions() as s:
            try:
                made = form_batches(s, issuer, batch_size=size, max_age=age, credentials=self.credential_maker)
            except ValueError:  # a leaf the cheap checks missed: find it, fail it alone, try again
                s.rollback()
                did |= reject_unanchorable(ctx, issuer, thoroughly=True)
                made = form_batches(s, issuer, batch_size=size, max_age=age, credentials=self.credential_maker)
            s.commit()
        if made:
            did = True
            checkpoint("batch_recorded")
        with self.sessions() as s:
            batches = s.scalars(select(Batch).where(Batch.issuer == issuer, Batch.status.in_(IN_FLIGHT)))
            revocations = s.scalars(
                select(Revocation).where(Revocation.issuer == issuer, Revocation.status.in_(IN_FLIGHT))
            )
            jobs: list[Job] = [*batches, *revocations]
        did |= credentials.ensure_key_registered(ctx, issuer)  # before an anchor holding its credentials
        # an unbroadcast transaction goes out before a new nonce is taken
        jobs.sort(key=lambda j: (j.status != TxStatus.signed, j.nonce is None, j.nonce or 0, j.created_at))
        for job in jobs:
            if (step := STEPS.get(job.status)) is not None:
                did |= step(ctx, issuer, job)
        if issuer in ctx.unsealed:
            sealed = seal_confirmed(ctx, issuer)
            signed = credentials.sign_confirmed(ctx, issuer)
            if not (sealed or signed):
                ctx.unsealed.discard(issuer)
            did |= sealed or signed
        if issuer in ctx.republish:
            did |= credentials.republish(ctx, issuer)
        return did
