"""Running the issuer service: `sceau serve` (web server and worker, supervised), `sceau worker`
(the anchoring worker alone) and `sceau status` (chain, workers, queue, what holds each issuer)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from certifier.cli.options import emit
from certifier.cli.resources import service_context
from certifier.worker.supervisor import say_ready
from verifier.core.errors import SceauError


@click.command()
@click.option("--once", is_flag=True, help="Work until nothing is in flight, then exit.")
@click.option("--issuer", "only", multiple=True, help="Only these issuers (repeatable) [default: all].")
def worker(once: bool, only: tuple[str, ...]) -> None:
    """Run the anchoring worker: batch pending documents, anchor them, confirm them, sign their seals.

    Only SIGTERM or SIGINT stops it: a failure holds the issuer it concerns (`sceau status` says
    why), and a chain not reachable yet is waited for. Issuer keys are opened with the secrets in
    $SCEAU_HOME/secrets.toml (or SCEAU_KEY_PASSPHRASE, SCEAU_PKCS11_PIN)."""
    import logging

    from certifier.keys.custody import Custody

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    custody = Custody()
    for failure in custody.open_all():  # first, before the chain libraries: Custody.open_all says why
        logging.getLogger("sceau.worker").error("%s", failure)
    say_ready()

    import signal
    import threading

    from certifier.chain.deployment import current
    from certifier.chain.rpc import worker_web3
    from certifier.worker.anchoring import Worker
    from verifier.core.errors import ChainError

    ctx = service_context()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    w3 = worker_web3(ctx.rpc_url)
    said, failures = None, 0
    while True:  # the chain may be down when the worker starts: wait for it, saying so once
        try:
            deployment = current(w3)
            break
        except (ChainError, OSError) as exc:
            if once:
                raise ChainError(f"cannot start the worker: {exc}") from None
            failures += 1
            if str(exc) != said:
                logging.getLogger("sceau.worker").warning("cannot start yet: %s (waiting for the chain)", exc)
                said = str(exc)
            if stop.wait(min(ctx.settings.retry_max, ctx.settings.retry_base * 2 ** min(failures, 10))):
                return
    w = Worker(ctx.sessions, w3, deployment, ctx.settings, issuers=set(only) or None, custody=custody)
    if once:
        w.run_until_idle(timeout=3600)
        return
    click.echo(
        f"worker {w.holder} running (batch of {ctx.settings.batch_size} or every {ctx.settings.batch_seconds:g} s, "
        f"{w.confirmations} confirmation(s))",
        err=True,
    )
    try:
        w.run(stop)
    finally:
        w.release_all()


@click.command()
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """The chain, the workers, the queue, batches in flight, each issuer's balance and what holds it.

    Works with the chain down (and says so)."""
    from sqlalchemy import func, select
    from web3 import Web3

    from certifier.keys import keystore
    from certifier.service.health import chain_health, store_health
    from certifier.store.db import Batch, Document, IssuerState
    from certifier.store.pages import FAILURE_ACTIONS, last_of
    from certifier.store.states import IN_FLIGHT, DocumentStatus

    ctx = service_context()
    chain = chain_health(ctx.rpc_url)
    workers, queue_health = store_health(ctx)
    with ctx.sessions() as s:
        queue = dict(
            s.execute(
                select(Document.issuer, func.count())
                .where(Document.status == DocumentStatus.pending)
                .group_by(Document.issuer)
            ).all()
        )
        flying = list(s.scalars(select(Batch).where(Batch.status.in_(IN_FLIGHT))))
        held = {h.issuer: h for h in s.scalars(select(IssuerState))}
        # the newest failure of each kind, one probe of audit (action, id) each, whatever the log's
        # length (an IN list over the three may be planned as a backward scan of the whole log)
        newest = [s.scalars(last_of(action)).first() for action in FAILURE_ACTIONS]
        last = max((e for e in newest if e is not None), key=lambda e: e.id, default=None)
    names = sorted(set(queue) | {b.issuer for b in flying} | set(held) | {r.name for r in keystore.all_issuers()})
    w3 = Web3(Web3.HTTPProvider(ctx.rpc_url, request_kwargs={"timeout": 3})) if chain["reachable"] else None
    issuers: list[dict[str, Any]] = []
    for name in names:
        try:
            address: str | None = keystore.load(name).address
        except SceauError:
            address = None
        balance: int | None = None
        if w3 is not None and address is not None:
            try:
                balance = int(w3.eth.get_balance(Web3.to_checksum_address(address)))
            except Exception:  # noqa: BLE001 - shown as unknown ("?"); the chain line says why
                balance = None
        h = held.get(name)
        issuers.append(
            {
                "name": name,
                "address": address,
                "pending": queue.get(name, 0),
                "balanceWei": balance,
                "held": {"code": h.code, "reason": h.reason, "since": h.since} if h else None,
            }
        )
    last_error = None
    if last is not None and last.detail:
        last_error = f"{last.issuer}: {json.loads(last.detail).get('reason')}"
    data: dict[str, Any] = {
        "chain": chain,
        "worker": workers,
        "queue": queue_health,
        "issuers": issuers,
        "inFlight": [
            {
                "id": b.id,
                "issuer": b.issuer,
                "status": b.status,
                "documents": b.document_count,
                "transactionHash": b.tx_hash,
                "error": b.last_error,
            }
            for b in flying
        ],
        "revocationsInFlight": queue_health["revocationsInFlight"],
        "lastError": last_error,
    }
    lines = [
        f"chain: block {chain['blockNumber']} at {ctx.rpc_url}"
        if chain["reachable"]
        else f"chain: UNREACHABLE at {ctx.rpc_url} ({chain['error']})",
        f"workers: {workers['alive']} alive"
        + (f", last seen {workers['lastSeenSecondsAgo']} s ago" if workers["alive"] else ": NONE running")
        + (f"; it says: {workers['chainError']}" if workers["chainError"] else ""),
    ]
    lines += [
        f"{i['name']:30} pending {i['pending']:>6}  balance "
        + (f"{i['balanceWei'] / 1e18:.4f} ETH" if i["balanceWei"] is not None else "?")
        + (f"  HELD ({i['held']['code']}): {i['held']['reason']}" if i["held"] else "")
        for i in issuers
    ]
    lines += [
        f"batch {b['id']} {b['status']:9} {b['documents']} docs {b['transactionHash'] or ''}"
        + (f"  ({b['error']})" if b["error"] else "")
        for b in data["inFlight"]
    ]
    if queue_health["failedDocuments"]:
        lines.append(f"failed documents: {queue_health['failedDocuments']} (each with its reason in the API)")
    lines.append(f"last error: {data['lastError'] or 'none'}")
    emit(as_json, data, "\n".join(lines))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--no-worker", is_flag=True, help="Do not start the anchoring worker beside the server.")
@click.option("--debug", is_flag=True, help="Flask's development server, with reloading.")
def serve(host: str, port: int, workers: int, no_worker: bool, debug: bool) -> None:
    """Serve the HTTP API (issuer API, verification, health) with gunicorn, and run the anchoring
    worker beside it, restarted whenever it stops (see certifier/supervisor.py). The web processes
    get no key secret: only the worker does."""
    import logging

    from certifier.worker.supervisor import Supervisor, install_signals

    logging.basicConfig(level=logging.INFO, format="%(asctime)s serve %(levelname)s %(message)s")
    web = [sys.executable, "-m", "certifier.service.server", host, str(port), str(workers)] + (
        ["--debug"] if debug else []
    )
    supervisor = Supervisor(web, None if no_worker else [sys.executable, "-m", "certifier.cli", "worker"])
    install_signals(supervisor.stop)
    click.echo(f"serving on http://{host}:{port}", err=True)
    sys.exit(supervisor.run())
