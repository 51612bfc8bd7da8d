"""Signing a job's transaction: the registry call it makes, its gas and fees (25 % more for a
replacement), the funds it needs, and the record (hash, nonce, fees, signed bytes) committed
before anything is broadcast."""

from __future__ import annotations

from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.types import Nonce, TxParams, Wei

from certifier.chain.revoking import bitmap
from certifier.chain.transactions import explain_revert
from certifier.store.db import Batch, Revocation, Transaction, audit
from certifier.store.states import TxStatus
from certifier.worker.context import WorkerContext
from certifier.worker.faults import checkpoint
from certifier.worker.holding import OutOfFunds
from certifier.worker.jobs import Job, hex0x, record_failed, transition
from certifier.worker.reconciling import adopt_from_logs, done_on_chain, root_of


def registry_call(ctx: WorkerContext, issuer: str, job: Job) -> ContractFunction:
    """The registry function the job calls: anchor, revoke (one document) or revokeMany."""
    f = ctx.contract.functions
    if isinstance(job, Batch):
        return f.anchor(bytes.fromhex(job.root[2:]), job.document_count, job.kind)
    key, root = ctx.keys.address(issuer), root_of(ctx, job)
    if len(job.indices) == 1:
        replaced = bytes.fromhex(job.replaced_by[2:]) if job.replaced_by else b"\0" * 32
        return f.revoke(key, root, job.indices[0], job.reason, replaced)
    offset, words = bitmap(job.indices)
    return f.revokeMany(key, root, offset, words, job.reason)


def next_fees(ctx: WorkerContext, previous: tuple[int, int] | None = None) -> tuple[int, int]:
    """(maxFeePerGas, maxPriorityFeePerGas): twice the base fee plus the node's tip, or for a
    replacement at least 25 % more than `previous` (what nodes require to replace)."""
    base = int(ctx.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
    tip = int(ctx.w3.eth.max_priority_fee)
    max_fee = 2 * base + tip
    if previous:
        old_max, old_tip = previous
        tip = max(tip, old_tip * 5 // 4 + 1)
        max_fee = max(2 * base + tip, old_max * 5 // 4 + 1)
    return max_fee, tip


def require_funds(ctx: WorkerContext, issuer: str, address: str, cost: int | None) -> None:
    """Raise OutOfFunds when the key cannot pay `cost` wei (None: the node said it cannot)."""
    balance = int(ctx.w3.eth.get_balance(Web3.to_checksum_address(address)))
    if cost is None or balance < cost:
        needs = f"may cost {cost / 1e18:.6f} ETH" if cost is not None else "was refused for lack of funds"
        raise OutOfFunds(
            f"issuer {issuer!r} is out of funds: its key {address} holds {balance / 1e18:.6f} ETH and its next "
            f"transaction {needs}. Send funds to {address}: the worker goes on by itself"
        )


def sign(
    ctx: WorkerContext, issuer: str, job: Job, previous: tuple[int, int] | None = None, nonce: int | None = None
) -> bool:
    """Sign the job's transaction and record it (``signed``), or fail the job when the registry
    refuses it. `previous` (fees) and `nonce`: a replacement of the transaction signed before."""
    if previous is None and done_on_chain(ctx, issuer, job):
        return adopt_from_logs(ctx, issuer, job)
    account = ctx.keys.signer(issuer)
    call = registry_call(ctx, issuer, job)
    try:
        gas = call.estimate_gas({"from": account.address})
    except ContractCustomError as exc:
        reason = explain_revert(exc.data if isinstance(exc.data, str) else None)
        return record_failed(ctx, issuer, job, f"the registry refuses it: {reason}")
    except ContractLogicError as exc:
        return record_failed(ctx, issuer, job, f"the registry refuses it: {exc.message or exc}")
    if nonce is None:
        nonce = ctx.w3.eth.get_transaction_count(Web3.to_checksum_address(account.address), "pending")
    max_fee, tip = next_fees(ctx, previous)
    require_funds(ctx, issuer, account.address, gas * 6 // 5 * max_fee)
    params: TxParams = {
        "from": Web3.to_checksum_address(account.address),
        "nonce": Nonce(nonce),
        "gas": gas * 6 // 5,
        "maxFeePerGas": Wei(max_fee),
        "maxPriorityFeePerGas": Wei(tip),
        "chainId": ctx.deployment.chain_id,
    }
    signed = account.sign_transaction(dict(call.build_transaction(params)))
    signed_hash = hex0x(signed.hash)
    with ctx.sessions() as s:
        if not transition(
            s,
            job,
            TxStatus.signed,
            nonce=nonce,
            tx_hash=signed_hash,
            raw_tx=hex0x(signed.raw_transaction),
            max_fee=max_fee,
            priority_fee=tip,
            attempts=job.attempts + 1,
        ):
            return False
        s.add(
            Transaction(
                tx_hash=signed_hash,
                issuer=issuer,
                nonce=nonce,
                max_fee=max_fee,
                priority_fee=tip,
                batch_id=job.id if isinstance(job, Batch) else None,
                revocation_id=job.id if isinstance(job, Revocation) else None,
            )
        )
        detail = {"nonce": nonce, "maxFeePerGas": max_fee, "replacement": previous is not None}
        audit(s, issuer, "worker", "transaction.signed", job.id, detail, signed_hash)
        s.commit()
    checkpoint("tx_recorded")
    return True
