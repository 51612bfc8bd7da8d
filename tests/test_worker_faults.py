"""The anchoring worker under faults: SIGKILLed at every step, a reorganisation, a node restarted
from its state file mid-batch, a transaction stuck under low fees, and confirmation depth. In every
case each document ends confirmed exactly once: one batch, one anchor on chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from certifier.store.db import AuditEntry, Batch, Document, Lease, Transaction
from certifier.worker.faults import CHECKPOINTS
from tests.conftest import Chain, OwnNode, Service, own_node, unique, verifier_for, wait_until
from verifier.core.receipt import Receipt
from verifier.verify import verify_document


def submit(service: Service, auth: dict[str, str], n: int) -> tuple[list[str], list[bytes]]:
    digests = [os.urandom(32) for _ in range(n)]
    response = service.client.post(
        "/api/v1/documents", json={"documents": [{"sha256": d.hex()} for d in digests]}, headers=auth
    )
    assert response.status_code == 202
    return [d["id"] for d in response.get_json()["documents"]], digests


def batch_under_way(
    service: Service, issuer: str, auth: dict[str, str], n: int, ticks: int, **settings: Any
) -> tuple[list[str], list[bytes], Any, Batch]:
    """`n` documents of `issuer` submitted and closed into one batch, then `ticks` steps of a worker
    made with `settings` (for `issuer` only): the ids, the digests, the worker and the batch then."""
    ids, digests = submit(service, auth, n)
    service.client.post("/api/v1/batches", headers=auth)
    worker = service.worker(**settings)
    worker.only = {issuer}
    for _ in range(ticks):
        worker.tick()
    with service.ctx.sessions() as s:
        batch = s.scalars(select(Batch).where(Batch.issuer == issuer)).one()
    return ids, digests, worker, batch


def assert_exactly_once(
    service: Service, chain_url: str, issuer: str, auth: dict[str, str], ids: list[str], digests: list[bytes]
) -> Batch:
    from certifier.chain.deployment import registry_contract
    from certifier.keys import keystore

    with service.ctx.sessions() as s:
        docs = list(s.scalars(select(Document).where(Document.id.in_(ids))))
        batches = list(s.scalars(select(Batch).where(Batch.issuer == issuer)))
    assert {d.status for d in docs} == {"confirmed"}
    assert len(batches) == 1 and batches[0].status == "confirmed" and {d.batch_id for d in docs} == {batches[0].id}
    contract = registry_contract(service.ctx.w3, service.ctx.deployment.registry)
    key = keystore.load(issuer).address
    anchors = contract.events.RootAnchored.get_logs(argument_filters={"key": key}, from_block=0)
    assert len(anchors) == 1, "the batch was anchored more than once"
    for doc_id, digest in zip(ids, digests, strict=True):
        receipt = Receipt.from_json(service.client.get(f"/api/v1/documents/{doc_id}/receipt", headers=auth).data)
        assert (
            verify_document(digest, receipt, verifier_for(chain_url, service.ctx.deployment)).outcome.value == "valid"
        )
    return batches[0]


def lease_expired(service: Service, issuer: str) -> bool:
    """No worker holds `issuer`'s lease any more (or none ever took it)."""
    with service.ctx.sessions() as s:
        lease = s.get(Lease, issuer)
    return lease is None or lease.expires_at < time.time()


def batch_now(service: Service, batch_id: str) -> Batch:
    with service.ctx.sessions() as s:
        batch = s.get(Batch, batch_id)
    assert batch is not None
    return batch


def run_worker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "certifier.cli.commands", "worker", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_sigkill_at_each_step_then_restart_confirms_each_document_once(
    service: Service, chain: Chain, sceau: Any, checkpoint: str
) -> None:
    issuer = unique("Université crash")
    assert sceau("issuer", "create", issuer, "--kind", "diploma").exit_code == 0
    auth = service.token(issuer)
    ids, digests = submit(service, auth, 3)
    env = {"SCEAU_BATCH_SECONDS": "0", "SCEAU_LEASE_SECONDS": "1", "SCEAU_POLL_INTERVAL": "0.05"}
    killed = run_worker("--issuer", issuer, env={**env, "SCEAU_FAULT_KILL_AT": checkpoint})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    wait_until(lambda: lease_expired(service, issuer), 10, "the dead worker's lease to expire")
    resumed = run_worker("--issuer", issuer, "--once", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert_exactly_once(service, chain.url, issuer, auth, ids, digests)


def test_a_receipt_waits_for_the_configured_confirmations(service: Service, chain: Chain, issuer: str) -> None:
    auth = service.token(issuer)
    ids, digests, worker, _ = batch_under_way(service, issuer, auth, 2, 5, confirmations=3)
    worker.release_all()
    state = service.client.get(f"/api/v1/documents/{ids[0]}", headers=auth).get_json()
    assert state["status"] == "anchored" and state["batch"]["status"] == "mined"
    assert service.client.get(f"/api/v1/documents/{ids[0]}/receipt", headers=auth).status_code == 409
    for _ in range(2):
        chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    worker.run_until_idle()
    assert_exactly_once(service, chain.url, issuer, auth, ids, digests)


def test_an_anchor_reorganised_away_is_sent_again(service: Service, chain: Chain, issuer: str) -> None:
    auth = service.token(issuer)
    ids, digests, worker, batch = batch_under_way(service, issuer, auth, 2, 5, confirmations=3)
    assert batch.status == "mined" and batch.block_number == chain.w3.eth.block_number
    reply = chain.w3.provider.make_request("anvil_reorg", [1, []])  # type: ignore[arg-type]
    assert "error" not in reply, reply
    wait_until(
        lambda: (now := batch_now(service, batch.id)).status == "mined" and now.block_hash != batch.block_hash,
        30,
        "the anchor mined again in another block",
        step=worker.tick,
    )
    for _ in range(2):
        chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    worker.run_until_idle()
    confirmed = assert_exactly_once(service, chain.url, issuer, auth, ids, digests)
    assert confirmed.block_hash != batch.block_hash
    with service.ctx.sessions() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.subject == batch.id)))
    assert "transaction.reorganised" in actions


# ---------------------------------------------------------------- a private node, restarted


@pytest.fixture
def private(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OwnNode]:
    """A node of its own, stopped and restarted once: registry and issuer are in its state file."""
    yield from own_node(db_url, tmp_path, monkeypatch, unique("Préfecture privée"), "residence_permit", restarted=True)


def test_node_restarted_from_its_state_file_mid_batch_gets_the_anchor_again(private: OwnNode) -> None:
    from certifier.chain import localchain

    service = private.service
    ids, digests, worker, before = batch_under_way(service, private.issuer, private.auth, 3, 5, confirmations=2)
    assert before.status == "mined"
    node = localchain.running(private.home)
    assert node is not None
    os.kill(node.pid, signal.SIGKILL)  # power cut: the anchor's block was never written to the state file
    wait_until(lambda: localchain.running(private.home) is None, 10, "the killed node to be gone")
    localchain.up(node.port, base=private.home, state_interval=3600)
    assert service.ctx.w3.eth.block_number < (before.block_number or 0)
    wait_until(lambda: batch_now(service, before.id).status == "mined", 30, "the anchor mined again", step=worker.tick)
    private.rpc("evm_mine")
    worker.run_until_idle()
    assert_exactly_once(service, private.url, private.issuer, private.auth, ids, digests)


def test_a_transaction_left_pending_is_replaced_by_one_with_a_higher_fee(private: OwnNode) -> None:
    service = private.service
    private.rpc("evm_setAutomine", False)  # nothing gets mined: the transaction waits in the pool
    ids, digests, worker, first = batch_under_way(service, private.issuer, private.auth, 2, 2, replace_after=0.3)
    assert first.status == "sent"
    wait_until(  # once replace_after has passed: signs again (same nonce, 25 % more), then broadcasts
        lambda: (now := batch_now(service, first.id)).status == "sent" and now.tx_hash != first.tx_hash,
        10,
        "the replacement to be sent",
        step=worker.tick,
    )
    pool = private.rpc("txpool_content")["pending"]
    [(_, by_nonce)] = pool.items()
    assert len(by_nonce) == 1  # the node kept only the better-paying one
    private.rpc("evm_mine")
    private.rpc("evm_setAutomine", True)
    worker.run_until_idle()
    final = assert_exactly_once(service, private.url, private.issuer, private.auth, ids, digests)
    assert final.tx_hash != first.tx_hash and final.nonce == first.nonce
    assert (final.max_fee or 0) > (first.max_fee or 0) * 5 // 4


def test_a_transaction_dropped_for_low_fees_is_sent_again_with_a_higher_fee(private: OwnNode) -> None:
    service = private.service
    private.rpc("evm_setAutomine", False)
    ids, digests, worker, batch = batch_under_way(service, private.issuer, private.auth, 2, 2, replace_after=0.2)
    assert batch.status == "sent" and batch.max_fee
    first_hash, first_fee = batch.tx_hash, batch.max_fee

    def block_too_dear_then_tick() -> None:
        # blocks keep coming, but the base fee stays just above what the first transaction offers
        private.rpc("anvil_setNextBlockBaseFeePerGas", hex(first_fee + 1))
        private.rpc("evm_mine")
        worker.tick()

    wait_until(
        lambda: batch_now(service, batch.id).status in ("mined", "confirmed"),
        60,
        "a replacement paying enough to be mined",
        step=block_too_dear_then_tick,
    )
    private.rpc("evm_setAutomine", True)
    worker.run_until_idle()
    with service.ctx.sessions() as s:
        txs = list(
            s.scalars(select(Transaction).where(Transaction.batch_id == batch.id).order_by(Transaction.created_at))
        )
    assert len(txs) >= 2 and len({t.nonce for t in txs}) == 1
    assert txs[-1].max_fee > first_fee * 5 // 4
    final = assert_exactly_once(service, private.url, private.issuer, private.auth, ids, digests)
    assert final.tx_hash != first_hash
