"""Broadcasting a signed job and watching it to confirmation: re-broadcasting a transaction that
vanished, replacing one stuck under low fees (same nonce, 25 % more), signing again when its
nonce went to something else, watching again an anchor a reorganisation took away, and confirming
after N blocks once the registry holds it."""

from __future__ import annotations

from eth_typing import HexStr
from web3.exceptions import TransactionNotFound, Web3Exception

from certifier.store.db import Batch, audit, now
from certifier.store.states import DocumentStatus, TxStatus
from certifier.worker.context import WorkerContext
from certifier.worker.faults import checkpoint
from certifier.worker.jobs import Job, hex0x, mark_documents, recorded, transition, tx_hash
from certifier.worker.reconciling import adopt_from_logs, any_receipt, done_on_chain, settle
from certifier.worker.signing import require_funds, sign
from verifier.core.errors import ChainError


def _replace(ctx: WorkerContext, issuer: str, job: Job) -> bool:
    """Sign the job's transaction again: same nonce, fees 25 % higher."""
    previous = recorded(job, "fees", job.max_fee), recorded(job, "fees", job.priority_fee)
    return sign(ctx, issuer, job, previous=previous, nonce=job.nonce)


def _move(ctx: WorkerContext, issuer: str, job: Job, to: TxStatus, action: str | None, **values: object) -> bool:
    """Move the job on (or back, for the next pass to take it on again), saying so in the audit log."""
    with ctx.sessions() as s:
        transition(s, job, to, **values)
        if action is not None:
            audit(s, issuer, "worker", action, job.id, None, job.tx_hash)
        s.commit()
    return True


def broadcast(ctx: WorkerContext, issuer: str, job: Job) -> bool:
    """Send the recorded signed bytes (``signed`` → ``sent``)."""
    try:
        ctx.w3.eth.send_raw_transaction(HexStr(recorded(job, "signed bytes", job.raw_tx)))
    except (Web3Exception, ValueError) as exc:
        message = str(exc).lower()
        if "insufficient funds" in message:
            require_funds(ctx, issuer, ctx.keys.address(issuer), None)
        if "already known" in message or "already imported" in message:
            pass
        elif "nonce too low" in message or "nonce has already been used" in message:
            if any_receipt(ctx, job) is None and not done_on_chain(ctx, issuer, job):
                # the nonce went to something else: sign again with a fresh one
                return _move(ctx, issuer, job, TxStatus.built, None, last_error="nonce taken; signing again")
        elif "underpriced" in message or "fee" in message:
            # the node wants a higher fee than we offered: sign again, same nonce, 25 % more
            return _replace(ctx, issuer, job)
        else:
            raise ChainError(f"broadcasting {job.tx_hash}: {exc}") from None
    _move(ctx, issuer, job, TxStatus.sent, "transaction.broadcast", sent_at=now())
    checkpoint("broadcast")
    return True


def watch_sent(ctx: WorkerContext, issuer: str, job: Job) -> bool:
    """A broadcast job: mined yet? vanished? dropped for its fee, or stuck long enough to replace?"""
    receipt = any_receipt(ctx, job)
    if receipt is not None:
        return settle(ctx, issuer, job, receipt)
    try:
        ctx.w3.eth.get_transaction(tx_hash(job))
        pending = True
    except TransactionNotFound:
        pending = False
    if not pending:
        if done_on_chain(ctx, issuer, job):
            return adopt_from_logs(ctx, issuer, job)
        base = int(ctx.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
        if (job.max_fee or 0) <= base:  # dropped for its fee: offer more
            return _replace(ctx, issuer, job)
        # vanished: broadcast the recorded bytes again
        last_error = "transaction vanished; re-broadcasting"
        return _move(ctx, issuer, job, TxStatus.signed, "transaction.vanished", last_error=last_error)
    if now() - (job.sent_at or 0) >= ctx.settings.replace_after:
        return _replace(ctx, issuer, job)
    return False


def watch_mined(ctx: WorkerContext, issuer: str, job: Job) -> bool:
    """A mined job: still in the same block of the canonical chain? confirmed enough?"""
    try:
        receipt = ctx.w3.eth.get_transaction_receipt(tx_hash(job))
    except TransactionNotFound:
        receipt = None
    if receipt is None or hex0x(receipt["blockHash"]) != job.block_hash:
        with ctx.sessions() as s:  # reorganised away, or into another block: watch it again
            transition(
                s,
                job,
                TxStatus.sent,
                sent_at=now(),
                block_number=None,
                block_hash=None,
                last_error="anchor left the canonical chain; watching again",
            )
            if isinstance(job, Batch):
                mark_documents(s, job, DocumentStatus.anchoring)
            audit(s, issuer, "worker", "transaction.reorganised", job.id, None, job.tx_hash)
            s.commit()
        return True
    head, block = ctx.w3.eth.block_number, recorded(job, "block", job.block_number)
    if head - block + 1 < ctx.confirmations or not done_on_chain(ctx, issuer, job):
        return False
    with ctx.sessions() as s:
        if not transition(s, job, TxStatus.confirmed, confirmed_at=now()):
            return False
        if isinstance(job, Batch):
            mark_documents(s, job, DocumentStatus.confirmed)
            ctx.unsealed.add(issuer)
        else:
            ctx.republish.add(issuer)  # its status lists, if it issues credentials
        audit(
            s,
            issuer,
            "worker",
            "anchor.confirmed" if isinstance(job, Batch) else "revocation.confirmed",
            job.id,
            {"block": block, "confirmations": head - block + 1},
            job.tx_hash,
        )
        s.commit()
    checkpoint("confirmed")
    return True
