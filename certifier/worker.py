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
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound, Web3Exception

from verifier.errors import ChainError, SceauError

from . import keystore
from .db import Batch, Document, Lease, Revocation, Transaction, audit, now, rowcount
from .deployment import Deployment, registry_contract
from .documents import form_batches
from .faults import checkpoint
from .revoking import bitmap
from .settings import Settings
from .transactions import explain_revert

log = logging.getLogger("sceau.worker")
IN_FLIGHT = ("built", "signed", "sent", "mined")


def unlock_with_env(name: str) -> LocalAccount:
    passphrase = os.environ.get("SCEAU_KEY_PASSPHRASE")
    if not passphrase:
        raise SceauError("the worker needs SCEAU_KEY_PASSPHRASE to unlock issuer keys")
    return keystore.load(name).unlock(passphrase)


class Worker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        w3: Web3,
        deployment: Deployment,
        settings: Settings,
        accounts: Callable[[str], LocalAccount] = unlock_with_env,
        issuers: set[str] | None = None,
    ) -> None:
        self.sessions = sessions
        self.w3 = w3
        self.deployment = deployment
        self.settings = settings
        self.contract = registry_contract(w3, deployment.registry)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._unlock = accounts
        self._accounts: dict[str, LocalAccount] = {}
        self.confirmations = settings.confirmations_for(deployment.chain_id)
        self.last_error: str | None = None
        self.only = issuers  # None: every issuer with work

    # ------------------------------------------------------------ loop

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            busy = self.tick()
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
        did = False
        for issuer in self._issuers_with_work():
            if not self._acquire(issuer):
                continue
            try:
                did |= self._process_issuer(issuer)
                self.last_error = None
            except (ChainError, OSError, Web3Exception) as exc:
                self.last_error = f"{issuer}: {exc}"
                log.warning("chain error for %s: %s", issuer, exc)
            except SceauError as exc:
                self.last_error = f"{issuer}: {exc}"
                log.error("%s: %s", issuer, exc)
        return did

    def _issuers_with_work(self) -> list[str]:
        with self.sessions() as s:
            names = set(s.scalars(select(Document.issuer).where(Document.status == "pending").distinct()))
            names |= set(s.scalars(select(Batch.issuer).where(Batch.status.in_(IN_FLIGHT)).distinct()))
            names |= set(s.scalars(select(Revocation.issuer).where(Revocation.status.in_(IN_FLIGHT)).distinct()))
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
        with self.sessions() as s:
            s.execute(update(Lease).where(Lease.holder == self.holder).values(expires_at=0))
            s.commit()

    # ------------------------------------------------------------ per issuer

    def account(self, issuer: str) -> LocalAccount:
        if issuer not in self._accounts:
            self._accounts[issuer] = self._unlock(issuer)
        return self._accounts[issuer]

    def _process_issuer(self, issuer: str) -> bool:
        did = False
        with self.sessions() as s:
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
        return did

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
        return self.account(job.issuer).address

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
        account = self.account(issuer)
        call = self._call(job)
        try:
            gas = call.estimate_gas({"from": account.address})
        except ContractCustomError as exc:
            return self._fail(issuer, job, explain_revert(exc.data if isinstance(exc.data, str) else None))
        except ContractLogicError as exc:
            return self._fail(issuer, job, str(exc.message or exc))
        if nonce is None:
            nonce = self.w3.eth.get_transaction_count(account.address, "pending")
        max_fee, tip = self._fees(previous)
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

    def _broadcast(self, issuer: str, job: Any) -> bool:
        try:
            self.w3.eth.send_raw_transaction(job.raw_tx)
        except (Web3Exception, ValueError) as exc:
            message = str(exc).lower()
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
        if isinstance(job, Batch):
            logs = self.contract.events.RootAnchored.get_logs(
                argument_filters={"root": bytes.fromhex(job.root[2:]), "key": key}, from_block=0
            )
        else:
            batch = {"root": self._root_of(job), "key": key}
            logs = list(self.contract.events.DocumentRevoked.get_logs(argument_filters=batch, from_block=0))
            logs += list(self.contract.events.DocumentsRevoked.get_logs(argument_filters=batch, from_block=0))
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
