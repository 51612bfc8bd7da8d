"""The issuer service's health: ready ("ok") or "degraded", and why, from what can be checked
cheaply: the chain answers, a worker is alive, the queue moves, no issuer is held.

`/healthz` (verifier/web.py) calls `healthz_view` through the app's ``SCEAU_HEALTH`` hook; `sceau
status` shows the same figures. A load balancer reads the code: 200 when ok, 503 when degraded."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from certifier.service.context import ServiceContext
from certifier.store.db import Batch, Document, IssuerState, Revocation, WorkerBeat, now
from certifier.store.states import IN_FLIGHT, DocumentStatus
from verifier.core.errors import SceauError
from verifier.jsonrpc import JsonRpc

#: A worker not seen for this long is taken for dead (a pass may wait on a slow RPC for 30 s).
WORKER_STALE_SECONDS = 60.0
#: A batch in flight for this long, or a document pending this long past its batching delay, is
#: stuck: 12 confirmations take about 2.5 minutes on Ethereum.
STUCK_SECONDS = 600.0


def chain_health(rpc_url: str, timeout: float = 3.0) -> dict[str, Any]:
    """Whether the chain answers now, with its head; one short request, no retries."""
    rpc = JsonRpc(rpc_url, timeout=timeout)
    try:
        block = rpc.call("eth_getBlockByNumber", ["latest", False])
        number, timestamp = int(block["number"], 16), int(block["timestamp"], 16)
    except Exception as exc:  # noqa: BLE001 - any failure here is the answer: unreachable
        return {"reachable": False, "rpcUrl": rpc_url, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    finally:
        rpc.close()
    return {
        "reachable": True,
        "rpcUrl": rpc_url,
        "blockNumber": number,
        "blockAgeSeconds": max(0, round(now() - timestamp)),
    }


def store_health(ctx: ServiceContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """(worker, queue) as the database tells them."""
    t = now()
    with ctx.sessions() as s:
        beats = list(s.scalars(select(WorkerBeat).where(WorkerBeat.seen_at >= t - WORKER_STALE_SECONDS)))
        pending, oldest = s.execute(
            select(func.count(), func.min(Document.created_at)).where(Document.status == DocumentStatus.pending)
        ).one()
        in_flight, oldest_job = s.execute(
            select(func.count(), func.min(Batch.created_at)).where(Batch.status.in_(IN_FLIGHT))
        ).one()
        revocations = s.scalar(select(func.count()).where(Revocation.status.in_(IN_FLIGHT))) or 0
        held = list(s.scalars(select(IssuerState).order_by(IssuerState.since)))
        failed = s.scalar(select(func.count()).where(Document.status == DocumentStatus.failed)) or 0
    worker = {
        "alive": len(beats),
        "lastSeenSecondsAgo": round(t - max(b.seen_at for b in beats), 1) if beats else None,
        "chainError": next((b.chain_error for b in beats if b.chain_error), None),
    }
    pending_age = round(t - oldest) if oldest is not None else None
    job_age = round(t - oldest_job) if oldest_job is not None else None
    stuck = (pending_age is not None and pending_age > ctx.settings.batch_seconds + STUCK_SECONDS) or (
        job_age is not None and job_age > STUCK_SECONDS
    )
    queue = {
        "pending": int(pending),
        "oldestPendingSeconds": pending_age,
        "batchesInFlight": int(in_flight),
        "oldestBatchInFlightSeconds": job_age,
        "revocationsInFlight": int(revocations),
        "failedDocuments": int(failed),
        "stuck": bool(stuck),
        "held": [
            {"issuer": h.issuer, "code": h.code, "reason": h.reason, "sinceSeconds": round(t - h.since)} for h in held
        ],
    }
    return worker, queue


def service_health(ctx: ServiceContext) -> dict[str, Any]:
    """Everything /healthz answers but the trust anchors, with "status" and "problems"."""
    chain = chain_health(ctx.rpc_url)
    worker, queue = store_health(ctx)
    problems = []
    if not chain["reachable"]:
        problems.append(f"the chain does not answer at {ctx.rpc_url}")
    if not worker["alive"]:
        problems.append("no anchoring worker is running (`sceau serve` starts one; `sceau worker` runs one alone)")
    if queue["stuck"]:
        problems.append("the queue is stuck: documents or batches wait far longer than they should")
    for h in queue["held"]:
        problems.append(f"issuer {h['issuer']!r} is held ({h['code']}): {h['reason']}")
    return {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "chain": chain,
        "worker": worker,
        "queue": queue,
    }


def healthz_view() -> ResponseReturnValue:
    """/healthz for the issuer service (the SCEAU_HEALTH hook of verifier/web.py)."""
    from verifier.web import current_verifier

    ctx: ServiceContext = current_app.extensions["sceau"]
    body = service_health(ctx)
    try:
        anchors = [a.to_dict() for a in current_verifier().anchors]
    except SceauError as exc:
        anchors = []
        body["status"] = "degraded"
        body["problems"].append(str(exc))
    body = {"status": body.pop("status"), "trustAnchors": anchors, **body}
    return jsonify(body), 200 if body["status"] == "ok" else 503
