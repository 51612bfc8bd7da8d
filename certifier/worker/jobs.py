"""What the worker drives to the chain: a job, a batch to anchor or a revocation to send.

Every change of a job's status is one compare-and-set (`transition`) from the status it was read
with, refused unless store/states.py's table allows the move: two workers can never both move one
job, and no code path can make a move nobody wrote down. The outcomes any step may reach (mined,
failed) are recorded here, with the documents they concern."""

from __future__ import annotations

import logging
from typing import TypeVar

from eth_typing import HexStr
from sqlalchemy import update
from sqlalchemy.orm import Session
from web3.types import TxReceipt

from certifier.store.db import Batch, Document, Revocation, audit, rowcount
from certifier.store.states import TRANSITIONS, DocumentStatus, TxStatus
from certifier.worker.context import WorkerContext
from certifier.worker.faults import checkpoint
from verifier.core.errors import SceauError

log = logging.getLogger("sceau.worker")

Job = Batch | Revocation
T = TypeVar("T")


class BrokenJob(SceauError):
    """A job whose record contradicts the state table (a move it does not list, a signed job
    without its transaction): a bug, which holds the issuer like any other problem."""


def transition(s: Session, job: Job, to: TxStatus, **values: object) -> bool:
    """Move `job` from the status it was read with to `to`, setting `values` with it. False when
    another worker moved it first; `BrokenJob` when the table does not allow the move."""
    if to not in TRANSITIONS[job.status]:
        raise BrokenJob(f"{type(job).__name__} {job.id}: no move from {job.status} to {to}")
    model = type(job)
    moved = s.execute(update(model).where(model.id == job.id, model.status == job.status).values(status=to, **values))
    return rowcount(moved) == 1


def mark_documents(s: Session, batch: Batch, status: DocumentStatus, **values: object) -> None:
    """Give the batch's documents the status its transaction has reached."""
    s.execute(update(Document).where(Document.batch_id == batch.id).values(status=status, **values))


def recorded(job: Job, what: str, value: T | None) -> T:
    """A value the job's status says is recorded (from ``signed`` on its transaction's hash, bytes,
    nonce and fees; from ``mined`` on its block)."""
    if value is None:
        raise BrokenJob(f"{type(job).__name__} {job.id} is {job.status} without its {what}")
    return value


def tx_hash(job: Job) -> HexStr:
    """The job's latest signed transaction."""
    return HexStr(recorded(job, "transaction hash", job.tx_hash))


def hex0x(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def record_mined(ctx: WorkerContext, issuer: str, job: Job, receipt: TxReceipt) -> bool:
    """A successful receipt of the job's transaction (or of one it replaced) is in a block."""
    mined_hash, block = hex0x(receipt["transactionHash"]), int(receipt["blockNumber"])
    with ctx.sessions() as s:
        if not transition(
            s,
            job,
            TxStatus.mined,
            tx_hash=mined_hash,
            block_number=block,
            block_hash=hex0x(receipt["blockHash"]),
            gas_used=int(receipt["gasUsed"]),
            last_error=None,
        ):
            return False
        if isinstance(job, Batch):
            mark_documents(s, job, DocumentStatus.anchored)
        detail = {"block": block, "gasUsed": int(receipt["gasUsed"])}
        audit(s, issuer, "worker", "transaction.mined", job.id, detail, mined_hash)
        s.commit()
    checkpoint("mined")
    return True


def record_failed(ctx: WorkerContext, issuer: str, job: Job, reason: str) -> bool:
    """The chain will never take the job: its documents fail with the reason (a batch), or are
    free to be revoked again (a revocation)."""
    with ctx.sessions() as s:
        if not transition(s, job, TxStatus.failed, last_error=reason):
            return False
        if isinstance(job, Batch):
            mark_documents(s, job, DocumentStatus.failed, failure=reason)
        else:
            s.execute(update(Document).where(Document.revocation_id == job.id).values(revocation_id=None))
        audit(s, issuer, "worker", "transaction.failed", job.id, {"reason": reason}, job.tx_hash)
        s.commit()
    log.error("%s %s failed: %s", type(job).__name__, job.id, reason)
    return True
