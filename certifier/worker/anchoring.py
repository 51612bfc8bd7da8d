"""The anchoring worker: a durable state machine in the database, driving each batch (and each
revocation) from "built" to "confirmed".

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
accredited for, a revert. What may pass (a key that cannot be opened, an issuer out of funds, the
chain unreachable, anything unexpected) holds that issuer only: the reason is written once where
people look (its documents' ``failure``, its batches, ``issuer_states`` for `sceau status` and
/healthz, the audit log, one log line), and the worker tries again after 1, 2, 4… seconds up to
``retry_max``, then goes on by itself. Other issuers go on meanwhile.

When a batch is confirmed, the worker (which holds the keys) signs each document's seal and
stores its text, so that the web processes make certified copies without any key.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound, Web3Exception

from certifier.chain.deployment import Deployment, registry_contract
from certifier.chain.revoking import bitmap
from certifier.chain.rpc import logs_newest_first
from certifier.chain.transactions import explain_revert
from certifier.keys import keystore
from certifier.keys.custody import Custody, KeyLocked, LocalSigner, Signer
from certifier.settings import Settings
from certifier.store.db import (
    Batch,
    Document,
    IssuerState,
    Lease,
    Revocation,
    Transaction,
    WorkerBeat,
    audit,
    now,
    rowcount,
)
from certifier.store.documents import form_batches, receipts_for_batch
from certifier.worker.faults import checkpoint
from verifier.core.errors import ChainError, ChainUnreachable, InvalidFields, SceauError
from verifier.core.fields import fields_sha256
from verifier.core.merkle import LeafValues

log = logging.getLogger("sceau.worker")
IN_FLIGHT = ("built", "signed", "sent", "mined")
BEAT_SECONDS = 1.0  # heartbeat period (workers table)
SEAL_SCAN_SECONDS = 60.0  # how often to look for confirmed documents still without a seal
SEALS_PER_PASS = 500
#: Problems whose wording varies from one try to the next (balances, connection details): said
#: once per code, not once per wording.
_SAID_BY_CODE = ("out_of_funds", "chain_unreachable")


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


def unanchorable(doc: Document) -> str | None:
    """Why the chain could never take this document's leaf, or None."""
    if doc.valid_from < 0 or doc.valid_until < 0:
        which = "validFrom" if doc.valid_from < 0 else "validUntil"
        return f"{which} is before 1970-01-01, which the chain cannot record: submit the document again, dated later"
    try:
        LeafValues(
            bytes.fromhex(doc.sha256),
            bytes.fromhex(doc.salt),
            0,
            doc.kind,
            doc.valid_from,
            doc.valid_until,
            fields_sha256(doc.fields or {}),
        )
    except (ValueError, InvalidFields) as exc:
        return f"the document cannot be anchored: {exc}"
    return None


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
        self.deployment = deployment
        self.settings = settings
        self.contract = registry_contract(w3, deployment.registry)
        self.holder = f"{socket.gethostname()[:30]}:{os.getpid()}:{id(self):x}"
        if accounts is not None:
            self._open: Callable[[str], Signer] = lambda name: LocalSigner(accounts(name))
        else:
            self._open = (custody or Custody()).signer
        self._signers: dict[str, Signer] = {}
        self._addresses: dict[str, str] = {}
        self.confirmations = settings.confirmations_for(deployment.chain_id)
        self.last_error: str | None = None
        self.chain_error: str | None = None
        self.only = issuers  # None: every issuer with work
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._said: dict[str, tuple[str, str]] = {}
        self._store_error: str | None = None
        self._next_beat = 0.0
        self._next_seal_scan = 0.0
        self._unsealed: set[str] = set()

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
                stop.wait(self._delay(failures))
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
                    raise TimeoutError(f"worker still busy after {timeout} s: {self.last_error}")
                time.sleep(0.02)
        finally:
            self.release_all()

    def _in_flight(self) -> bool:
        with self.sessions() as s:
            batches = select(Batch.id).where(Batch.status.in_(IN_FLIGHT))
            revocations = select(Revocation.id).where(Revocation.status.in_(IN_FLIGHT))
            if self.only is not None:
                batches = batches.where(Batch.issuer.in_(self.only))
                revocations = revocations.where(Revocation.issuer.in_(self.only))
            return bool(s.scalar(batches.limit(1)) or s.scalar(revocations.limit(1)))

    def tick(self) -> bool:
        """One pass over the issuers with work. An issuer's failure holds that issuer only."""
        self._beat()
        did = False
        for issuer in self._issuers_with_work():
            if self._retry_at.get(issuer, 0.0) > time.monotonic():
                continue
            if not self._acquire(issuer):
                continue
            try:
                did |= self._process_issuer(issuer)
            except Exception as exc:  # noqa: BLE001 - held and reported (see _problem), never hidden
                self._problem(issuer, exc)
            else:
                self._resolved(issuer)
        return did

    def _delay(self, failures: int) -> float:
        return float(min(self.settings.retry_max, self.settings.retry_base * 2 ** min(failures - 1, 30)))

    # ------------------------------------------------------------ saying what is wrong, once

    def _problem(self, issuer: str, exc: Exception) -> None:
        problem = classify(exc)
        self.last_error = f"{issuer}: {problem.reason}"
        failures = self._failures[issuer] = self._failures.get(issuer, 0) + 1
        delay = self._delay(failures)
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
                    Document.status.in_(("pending", "anchoring")),
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

    def _resolved(self, issuer: str) -> None:
        self._failures.pop(issuer, None)
        self._retry_at.pop(issuer, None)
        self._said.pop(issuer, None)
        with self.sessions() as s:
            row = s.get(IssuerState, issuer)
            if row is None:
                return
            s.delete(row)
            s.execute(
                update(Document)
                .where(Document.issuer == issuer, Document.status.in_(("pending", "anchoring")))
                .values(failure=None)
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

    def _beat(self) -> None:
        """Renew this worker's heartbeat (what /healthz reads), and see whether the chain is back."""
        t = time.monotonic()
        if t < self._next_beat:
            return
        self._next_beat = t + BEAT_SECONDS
        if self.chain_error is not None:
            try:
                self.w3.eth.block_number  # noqa: B018
                self.chain_error = None
            except (OSError, Web3Exception, ChainError):
                pass  # still down: the issuers held say so, each once
        with self.sessions() as s:
            row = s.get(WorkerBeat, self.holder)
            if row is None:  # first beat: forget workers gone for a day (SIGKILLed ones never say goodbye)
                s.execute(delete(WorkerBeat).where(WorkerBeat.seen_at < now() - 86400))
                row = WorkerBeat(holder=self.holder, started_at=now())
                s.add(row)
            row.seen_at = now()
            row.chain_error = self.chain_error
            s.commit()

    def _issuers_with_work(self) -> list[str]:
        with self.sessions() as s:
            names = set(s.scalars(select(Document.issuer).where(Document.status == "pending").distinct()))
            names |= set(s.scalars(select(Batch.issuer).where(Batch.status.in_(IN_FLIGHT)).distinct()))
            names |= set(s.scalars(select(Revocation.issuer).where(Revocation.status.in_(IN_FLIGHT)).distinct()))
            if time.monotonic() >= self._next_seal_scan:
                self._next_seal_scan = time.monotonic() + SEAL_SCAN_SECONDS
                unsealed = select(Document.issuer).where(Document.status == "confirmed", Document.seal.is_(None))
                self._unsealed = set(s.scalars(unsealed.distinct()))
            names |= self._unsealed
        return sorted(names if self.only is None else names & self.only)

    # ------------------------------------------------------------ lease

    def _acquire(self, issuer: str) -> bool:
        with self.sessions() as s:
            t = now()
            renewed = rowcount(
                s.execute(
                    update(Lease)
                    .where(Lease.issuer == issuer, or_(Lease.holder == self.holder, Lease.expires_at < t))
                    .values(holder=self.holder, expires_at=t + self.settings.lease_seconds)
                )
            )
            if renewed == 1:
                s.commit()
                return True
            if s.get(Lease, issuer) is not None:
                return False
            s.add(Lease(issuer=issuer, holder=self.holder, expires_at=t + self.settings.lease_seconds))
            try:
                s.commit()
                return True
            except IntegrityError:
                return False

    def release_all(self) -> None:
        """Give up every lease and the heartbeat (a clean stop)."""
        with self.sessions() as s:
            s.execute(update(Lease).where(Lease.holder == self.holder).values(expires_at=0))
            beat = s.get(WorkerBeat, self.holder)
            if beat is not None:
                s.delete(beat)
            s.commit()

    # ------------------------------------------------------------ per issuer

    def signer(self, issuer: str) -> Signer:
        """The issuer's signing key (see custody.py); opened on first use, then kept."""
        if issuer not in self._signers:
            self._signers[issuer] = self._open(issuer)
        return self._signers[issuer]

    def address(self, issuer: str) -> str:
        """The issuer's key address, from its record: no secret needed to watch the chain."""
        if issuer not in self._addresses:
            self._addresses[issuer] = keystore.load(issuer).address
        return self._addresses[issuer]

    def _process_issuer(self, issuer: str) -> bool:
        did = self._reject_unanchorable(issuer)
        with self.sessions() as s:
            try:
                made = form_batches(s, issuer, batch_size=self.settings.batch_size, max_age=self.settings.batch_seconds)
            except ValueError:  # a leaf the cheap checks missed: find it, fail it alone, try again
                s.rollback()
                did |= self._reject_unanchorable(issuer, thoroughly=True)
                made = form_batches(s, issuer, batch_size=self.settings.batch_size, max_age=self.settings.batch_seconds)
            s.commit()
        if made:
            did = True
            checkpoint("batch_recorded")
        with self.sessions() as s:
            jobs: list[Any] = list(s.scalars(select(Batch).where(Batch.issuer == issuer, Batch.status.in_(IN_FLIGHT))))
            jobs += list(
                s.scalars(select(Revocation).where(Revocation.issuer == issuer, Revocation.status.in_(IN_FLIGHT)))
            )
        # an unbroadcast transaction goes out before a new nonce is taken
        jobs.sort(key=lambda j: (j.status != "signed", j.nonce is None, j.nonce or 0, j.created_at))
        for job in jobs:
            did |= self._advance(issuer, job)
        if issuer in self._unsealed:
            did |= self._seal_confirmed(issuer)
        return did

    def _reject_unanchorable(self, issuer: str, *, thoroughly: bool = False) -> bool:
        """Fail, each alone and with its reason, pending documents the chain could never take
        (dates before 1970, a kind out of range): the rest of the queue goes on."""
        query = select(Document).where(Document.issuer == issuer, Document.status == "pending")
        if not thoroughly:
            query = query.where(
                or_(Document.valid_from < 0, Document.valid_until < 0, Document.kind < 0, Document.kind > 255)
            )
        with self.sessions() as s:
            rejected = [(d, reason) for d in s.scalars(query.limit(10_000)) if (reason := unanchorable(d))]
            for doc, reason in rejected:
                if self._cas(s, doc, "pending", status="failed", failure=reason):
                    audit(s, issuer, "worker", "document.failed", doc.id, {"reason": reason})
                    log.error("%s: document %s failed: %s", issuer, doc.id, reason)
            s.commit()
        return bool(rejected)

    def _seal_confirmed(self, issuer: str) -> bool:
        """Sign and store the seals of confirmed documents that have none yet (certified copies
        are made from them, by processes that hold no key)."""
        with self.sessions() as s:
            docs = list(
                s.scalars(
                    select(Document)
                    .where(Document.issuer == issuer, Document.status == "confirmed", Document.seal.is_(None))
                    .limit(SEALS_PER_PASS)
                )
            )
            if not docs:
                self._unsealed.discard(issuer)
                return False
            signer = self.signer(issuer)
            by_batch: dict[str, list[Document]] = {}
            for d in docs:
                by_batch.setdefault(d.batch_id or "", []).append(d)
            for batch_id, group in by_batch.items():
                batch = s.get(Batch, batch_id)
                assert batch is not None and batch.block_number is not None
                receipts = receipts_for_batch(s, batch, self.deployment, signer.address)
                anchored_at = int(self.w3.eth.get_block(batch.block_number)["timestamp"])
                for d in group:
                    try:
                        d.seal = signer.seal(receipts[d.id], d.fields or {}, anchored_at)
                    except InvalidFields as exc:  # cannot happen for fields the leaf binds; said, not retried
                        d.seal = ""
                        log.error("%s: no seal for document %s: %s", issuer, d.id, exc)
            s.commit()
        return True

    # ------------------------------------------------------------ the state machine

    def _advance(self, issuer: str, job: Any) -> bool:
        status = job.status
        if status == "built":
            return self._sign(issuer, job)
        if status == "signed":
            return self._broadcast(issuer, job)
        if status == "sent":
            return self._watch_sent(issuer, job)
        if status == "mined":
            return self._watch_mined(issuer, job)
        return False

    def _cas(self, s: Session, job: Any, expected: str, **values: Any) -> bool:
        model = type(job)
        changed = rowcount(
            s.execute(update(model).where(model.id == job.id, model.status == expected).values(**values))
        )
        return bool(changed == 1)

    def _call(self, job: Any) -> Any:
        f = self.contract.functions
        if isinstance(job, Batch):
            return f.anchor(bytes.fromhex(job.root[2:]), job.document_count, job.kind)
        key, root = self._batch_key(job), self._root_of(job)
        if len(job.indices) == 1:
            replaced = bytes.fromhex(job.replaced_by[2:]) if job.replaced_by else b"\0" * 32
            return f.revoke(key, root, job.indices[0], job.reason, replaced)
        offset, words = bitmap(job.indices)
        return f.revokeMany(key, root, offset, words, job.reason)

    def _batch_key(self, job: Any) -> str:
        """The key that anchors (or anchored) the job's batch: the issuer's key, one per issuer here.
        On chain a batch is named by (key, root)."""
        return self.address(job.issuer)

    def _root_of(self, rev: Revocation) -> bytes:
        with self.sessions() as s:
            batch = s.get(Batch, rev.batch_id)
            assert batch is not None
            return bytes.fromhex(batch.root[2:])

    def _done_on_chain(self, issuer: str, job: Any) -> bool:
        key = self._batch_key(job)
        if isinstance(job, Batch):
            anchored_at, *_ = self.contract.functions.anchorOf(key, bytes.fromhex(job.root[2:])).call()
            return bool(anchored_at)
        reason = self.contract.functions.revocationOf(key, self._root_of(job), job.indices[0]).call()
        return bool(reason)

    def _fees(self, previous: tuple[int, int] | None = None) -> tuple[int, int]:
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
        tip = int(self.w3.eth.max_priority_fee)
        max_fee = 2 * base + tip
        if previous:
            old_max, old_tip = previous
            tip = max(tip, old_tip * 5 // 4 + 1)
            max_fee = max(2 * base + tip, old_max * 5 // 4 + 1)
        return max_fee, tip

    def _sign(self, issuer: str, job: Any, previous: tuple[int, int] | None = None, nonce: int | None = None) -> bool:
        if previous is None and self._done_on_chain(issuer, job):
            return self._adopt_from_logs(issuer, job)
        account = self.signer(issuer)
        call = self._call(job)
        try:
            gas = call.estimate_gas({"from": account.address})
        except ContractCustomError as exc:
            reason = explain_revert(exc.data if isinstance(exc.data, str) else None)
            return self._fail(issuer, job, f"the registry refuses it: {reason}")
        except ContractLogicError as exc:
            return self._fail(issuer, job, f"the registry refuses it: {exc.message or exc}")
        if nonce is None:
            nonce = self.w3.eth.get_transaction_count(Web3.to_checksum_address(account.address), "pending")
        max_fee, tip = self._fees(previous)
        self._require_funds(issuer, account.address, gas * 6 // 5 * max_fee)
        tx = call.build_transaction(
            {
                "from": account.address,
                "nonce": nonce,
                "gas": gas * 6 // 5,
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": tip,
                "chainId": self.deployment.chain_id,
            }
        )
        signed = account.sign_transaction(tx)
        tx_hash = "0x" + bytes(signed.hash).hex()
        with self.sessions() as s:
            expected = job.status
            if not self._cas(
                s,
                job,
                expected,
                status="signed",
                nonce=nonce,
                tx_hash=tx_hash,
                raw_tx="0x" + bytes(signed.raw_transaction).hex(),
                max_fee=max_fee,
                priority_fee=tip,
                attempts=job.attempts + 1,
            ):
                return False
            s.add(
                Transaction(
                    tx_hash=tx_hash,
                    issuer=issuer,
                    nonce=nonce,
                    max_fee=max_fee,
                    priority_fee=tip,
                    batch_id=job.id if isinstance(job, Batch) else None,
                    revocation_id=job.id if isinstance(job, Revocation) else None,
                )
            )
            audit(
                s,
                issuer,
                "worker",
                "transaction.signed",
                job.id,
                {"nonce": nonce, "maxFeePerGas": max_fee, "replacement": previous is not None},
                tx_hash,
            )
            s.commit()
        checkpoint("tx_recorded")
        return True

    def _require_funds(self, issuer: str, address: str, cost: int | None) -> None:
        """Raise OutOfFunds when the key cannot pay `cost` wei (None: the node said it cannot)."""
        balance = int(self.w3.eth.get_balance(Web3.to_checksum_address(address)))
        if cost is None or balance < cost:
            needs = f"may cost {cost / 1e18:.6f} ETH" if cost is not None else "was refused for lack of funds"
            raise OutOfFunds(
                f"issuer {issuer!r} is out of funds: its key {address} holds {balance / 1e18:.6f} ETH and its next "
                f"transaction {needs}. Send funds to {address}: the worker goes on by itself"
            )

    def _broadcast(self, issuer: str, job: Any) -> bool:
        try:
            self.w3.eth.send_raw_transaction(job.raw_tx)
        except (Web3Exception, ValueError) as exc:
            message = str(exc).lower()
            if "insufficient funds" in message:
                self._require_funds(issuer, self.address(issuer), None)
            if "already known" in message or "already imported" in message:
                pass
            elif "nonce too low" in message or "nonce has already been used" in message:
                if self._any_receipt(job) is None and not self._done_on_chain(issuer, job):
                    # the nonce went to something else: sign again with a fresh one
                    with self.sessions() as s:
                        self._cas(s, job, "signed", status="built", last_error="nonce taken; signing again")
                        s.commit()
                    return True
            elif "underpriced" in message or "fee" in message:
                # the node wants a higher fee than we offered: sign again, same nonce, 25 % more
                return self._sign(issuer, job, previous=(job.max_fee, job.priority_fee), nonce=job.nonce)
            else:
                raise ChainError(f"broadcasting {job.tx_hash}: {exc}") from None
        with self.sessions() as s:
            self._cas(s, job, "signed", status="sent", sent_at=now())
            audit(s, issuer, "worker", "transaction.broadcast", job.id, None, job.tx_hash)
            s.commit()
        checkpoint("broadcast")
        return True

    def _hashes(self, job: Any) -> list[str]:
        with self.sessions() as s:
            column = Transaction.batch_id if isinstance(job, Batch) else Transaction.revocation_id
            return list(
                s.scalars(select(Transaction.tx_hash).where(column == job.id).order_by(Transaction.created_at.desc()))
            )

    def _any_receipt(self, job: Any) -> Any:
        for h in self._hashes(job):
            try:
                return self.w3.eth.get_transaction_receipt(h)  # type: ignore[arg-type]
            except TransactionNotFound:
                continue
        return None

    def _watch_sent(self, issuer: str, job: Any) -> bool:
        receipt = self._any_receipt(job)
        if receipt is not None:
            return self._mined(issuer, job, receipt)
        try:
            self.w3.eth.get_transaction(job.tx_hash)
            pending = True
        except TransactionNotFound:
            pending = False
        if not pending:
            if self._done_on_chain(issuer, job):
                return self._adopt_from_logs(issuer, job)
            base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
            if (job.max_fee or 0) <= base:  # dropped for its fee: offer more
                return self._sign(issuer, job, previous=(job.max_fee, job.priority_fee), nonce=job.nonce)
            with self.sessions() as s:  # vanished: broadcast the recorded bytes again
                self._cas(s, job, "sent", status="signed", last_error="transaction vanished; re-broadcasting")
                audit(s, issuer, "worker", "transaction.vanished", job.id, None, job.tx_hash)
                s.commit()
            return True
        if now() - (job.sent_at or 0) >= self.settings.replace_after:
            return self._sign(issuer, job, previous=(job.max_fee, job.priority_fee), nonce=job.nonce)
        return False

    def _mined(self, issuer: str, job: Any, receipt: Any) -> bool:
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        if receipt["status"] != 1:
            if self._done_on_chain(issuer, job):
                return self._adopt_from_logs(issuer, job)
            return self._fail(issuer, job, f"transaction {tx_hash} reverted")
        with self.sessions() as s:
            if not self._cas(
                s,
                job,
                job.status,
                status="mined",
                tx_hash=tx_hash,
                block_number=int(receipt["blockNumber"]),
                block_hash="0x" + bytes(receipt["blockHash"]).hex(),
                gas_used=int(receipt["gasUsed"]),
                last_error=None,
            ):
                return False
            if isinstance(job, Batch):
                s.execute(update(Document).where(Document.batch_id == job.id).values(status="anchored"))
            audit(
                s,
                issuer,
                "worker",
                "transaction.mined",
                job.id,
                {"block": int(receipt["blockNumber"]), "gasUsed": int(receipt["gasUsed"])},
                tx_hash,
            )
            s.commit()
        checkpoint("mined")
        return True

    def _watch_mined(self, issuer: str, job: Any) -> bool:
        try:
            receipt = self.w3.eth.get_transaction_receipt(job.tx_hash)
        except TransactionNotFound:
            receipt = None
        if receipt is None or "0x" + bytes(receipt["blockHash"]).hex() != job.block_hash:
            with self.sessions() as s:  # reorganised away, or into another block: watch it again
                self._cas(
                    s,
                    job,
                    "mined",
                    status="sent",
                    sent_at=now(),
                    block_number=None,
                    block_hash=None,
                    last_error="anchor left the canonical chain; watching again",
                )
                if isinstance(job, Batch):
                    s.execute(update(Document).where(Document.batch_id == job.id).values(status="anchoring"))
                audit(s, issuer, "worker", "transaction.reorganised", job.id, None, job.tx_hash)
                s.commit()
            return True
        head = self.w3.eth.block_number
        if head - job.block_number + 1 < self.confirmations:
            return False
        if not self._done_on_chain(issuer, job):
            return False
        with self.sessions() as s:
            if not self._cas(s, job, "mined", status="confirmed", confirmed_at=now()):
                return False
            if isinstance(job, Batch):
                s.execute(update(Document).where(Document.batch_id == job.id).values(status="confirmed"))
                self._unsealed.add(issuer)
            audit(
                s,
                issuer,
                "worker",
                "anchor.confirmed" if isinstance(job, Batch) else "revocation.confirmed",
                job.id,
                {"block": job.block_number, "confirmations": head - job.block_number + 1},
                job.tx_hash,
            )
            s.commit()
        checkpoint("confirmed")
        return True

    def _adopt_from_logs(self, issuer: str, job: Any) -> bool:
        """The job is done on chain by a transaction we may not have recorded as mined: find it."""
        key = self._batch_key(job)
        start, head = self.deployment.block_number, int(self.w3.eth.block_number)
        events = self.contract.events
        if isinstance(job, Batch):
            logs = logs_newest_first(
                events.RootAnchored, {"root": bytes.fromhex(job.root[2:]), "key": key}, start, head
            )
        else:
            batch = {"root": self._root_of(job), "key": key}
            logs = logs_newest_first(events.DocumentRevoked, batch, start, head)
            logs += logs_newest_first(events.DocumentsRevoked, batch, start, head)
        if not logs:
            return False  # state without logs (node restarted from a state file): wait for the next pass
        receipt = self.w3.eth.get_transaction_receipt(logs[-1]["transactionHash"])
        return self._mined(issuer, job, receipt)

    def _fail(self, issuer: str, job: Any, reason: str) -> bool:
        with self.sessions() as s:
            if not self._cas(s, job, job.status, status="failed", last_error=reason):
                return False
            if isinstance(job, Batch):
                s.execute(update(Document).where(Document.batch_id == job.id).values(status="failed", failure=reason))
            else:
                s.execute(update(Document).where(Document.revocation_id == job.id).values(revocation_id=None))
            audit(s, issuer, "worker", "transaction.failed", job.id, {"reason": reason}, job.tx_hash)
            s.commit()
        log.error("%s %s failed: %s", type(job).__name__, job.id, reason)
        return True
