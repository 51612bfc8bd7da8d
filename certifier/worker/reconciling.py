"""Telling what the chain already did for a job, whatever the database says: whether the anchor or
revocation is there, which of the job's transactions (a replacement, say) was mined, and, when
none we recorded was, the transaction found in the registry's logs. This is what lets a worker
killed at any point resume without anchoring anything twice."""

from __future__ import annotations

from eth_typing import HexStr
from sqlalchemy import select
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from certifier.chain.rpc import logs_newest_first
from certifier.store.db import Batch, Transaction
from certifier.worker.context import WorkerContext
from certifier.worker.jobs import BrokenJob, Job, hex0x, record_failed, record_mined


def root_of(ctx: WorkerContext, job: Job) -> bytes:
    """The Merkle root of the job's batch (a revocation's is in the batch it revokes from)."""
    if isinstance(job, Batch):
        return bytes.fromhex(job.root[2:])
    with ctx.sessions() as s:
        batch = s.get(Batch, job.batch_id)
        if batch is None:
            raise BrokenJob(f"revocation {job.id} names no batch")
        return bytes.fromhex(batch.root[2:])


def done_on_chain(ctx: WorkerContext, issuer: str, job: Job) -> bool:
    """Whether the registry already holds the job's anchor (or revocation)."""
    key, root, functions = ctx.keys.address(issuer), root_of(ctx, job), ctx.contract.functions
    if isinstance(job, Batch):
        anchored_at, *_ = functions.anchorOf(key, root).call()
        return bool(anchored_at)
    return bool(functions.revocationOf(key, root, job.indices[0]).call())


def any_receipt(ctx: WorkerContext, job: Job) -> TxReceipt | None:
    """The receipt of whichever of the job's transactions was mined, newest first, or None."""
    column = Transaction.batch_id if isinstance(job, Batch) else Transaction.revocation_id
    with ctx.sessions() as s:
        newest_first = select(Transaction.tx_hash).where(column == job.id).order_by(Transaction.created_at.desc())
        hashes = list(s.scalars(newest_first))
    for h in hashes:
        try:
            return ctx.w3.eth.get_transaction_receipt(HexStr(h))
        except TransactionNotFound:
            continue
    return None


def settle(ctx: WorkerContext, issuer: str, job: Job, receipt: TxReceipt) -> bool:
    """Record what a mined receipt says: mined, or failed when it reverted and the job is not done
    on chain by another transaction."""
    if receipt["status"] != 1:
        if done_on_chain(ctx, issuer, job):
            return adopt_from_logs(ctx, issuer, job)
        return record_failed(ctx, issuer, job, f"transaction {hex0x(receipt['transactionHash'])} reverted")
    return record_mined(ctx, issuer, job, receipt)


def adopt_from_logs(ctx: WorkerContext, issuer: str, job: Job) -> bool:
    """The job is done on chain by a transaction we may not have recorded as mined: find it."""
    filters = {"root": root_of(ctx, job), "key": ctx.keys.address(issuer)}
    start, head = ctx.deployment.block_number, int(ctx.w3.eth.block_number)
    events = ctx.contract.events
    if isinstance(job, Batch):
        logs = logs_newest_first(events.RootAnchored, filters, start, head)
    else:
        logs = logs_newest_first(events.DocumentRevoked, filters, start, head)
        logs += logs_newest_first(events.DocumentsRevoked, filters, start, head)
    if not logs:
        return False  # state without logs (node restarted from a state file): wait for the next pass
    return settle(ctx, issuer, job, ctx.w3.eth.get_transaction_receipt(logs[-1]["transactionHash"]))
