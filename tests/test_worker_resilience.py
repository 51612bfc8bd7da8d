"""The worker keeps going and says what is wrong: a document the chain cannot take fails alone; an
issuer whose key cannot be opened, or out of funds, is held with its reason where people look,
and goes on by itself once fixed; a 30-second RPC outage mid-batch loses nothing; SIGKILLs at
random moments lose nothing and anchor nothing twice; two workers on PostgreSQL anchor each
document once; `sceau serve`'s supervisor restarts its worker and says each error once; /healthz
and `sceau status` tell ready from degraded."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from certifier.store.db import AuditEntry, Batch, Document, IssuerState
from certifier.store.documents import NewDocument, submit
from tests.conftest import PASSPHRASE, Chain, OwnNode, Service, free_port, own_node, run_sceau, unique, wait_until
from tests.test_worker_faults import assert_exactly_once, batch_under_way
from tests.test_worker_faults import submit as submit_api
from verifier.core.kinds import KINDS


def wait_for(
    condition: Callable[[], Any], what: str, timeout: float = 60, step: Callable[[], Any] | None = None
) -> Any:
    """Poll `condition` (running `step` before each look) until it is true, or fail after `timeout`."""
    return wait_until(condition, timeout, what, step=step)


def state_of(service: Service, issuer: str) -> IssuerState | None:
    with service.ctx.sessions() as s:
        return s.get(IssuerState, issuer)


def statuses(service: Service, ids: list[str]) -> dict[str, str]:
    with service.ctx.sessions() as s:
        return dict(s.execute(select(Document.id, Document.status).where(Document.id.in_(ids))).all())


def actions(service: Service, issuer: str) -> list[str]:
    with service.ctx.sessions() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.issuer == issuer).order_by(AuditEntry.id)))


def insert(service: Service, issuer: str, n: int, **values: Any) -> list[str]:
    """Documents written straight to the store, as if the API had let them through."""
    defaults: dict[str, Any] = {"kind": KINDS["diploma"], "valid_from": int(time.time())}
    with service.ctx.sessions() as s:
        docs = submit(s, issuer, [NewDocument(os.urandom(32), **{**defaults, **values}) for _ in range(n)], "test")
        s.commit()
        return [d.id for d in docs]


@dataclass
class Running:
    """A worker running in a thread, as `sceau worker` runs it."""

    worker: Any
    stop: threading.Event
    thread: threading.Thread

    def end(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        self.worker.release_all()


@pytest.fixture
def running() -> Iterator[Callable[[Any], Running]]:
    started: list[Running] = []

    def start(worker: Any) -> Running:
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        started.append(Running(worker, stop, thread))
        return started[-1]

    yield start
    for r in started:
        if r.thread.is_alive():
            r.end()


# ---------------------------------------------------------------- what fails alone


def test_a_document_dated_before_1970_fails_alone_and_the_worker_goes_on(
    service: Service, sceau: Any, issuer: str
) -> None:
    auth = service.token(issuer)
    other = unique("Université voisine")
    assert sceau("issuer", "create", other, "--kind", "diploma").exit_code == 0
    bad = insert(service, issuer, 1, valid_from=-86400)  # 1969-12-31: the API refuses it, the worker must survive
    good = insert(service, issuer, 2) + insert(service, other, 2)
    worker = service.worker(batch_seconds=0)
    worker.only = {issuer, other}
    worker.run_until_idle()
    assert statuses(service, bad) == {bad[0]: "failed"}
    assert set(statuses(service, good).values()) == {"confirmed"}
    shown = service.client.get(f"/api/v1/documents/{bad[0]}", headers=auth).get_json()
    assert shown["status"] == "failed" and "1970" in shown["failure"]
    assert "document.failed" in actions(service, issuer)
    status = json.loads(sceau("status", "--json").output)
    assert status["queue"]["failedDocuments"] >= 1


def test_a_kind_the_issuer_may_not_certify_fails_its_batch_alone(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    refused = insert(service, issuer, 2, kind=KINDS["residence_permit"])  # accredited for diplomas only
    fine = insert(service, issuer, 2)
    service.worker(batch_seconds=0).run_until_idle()
    assert set(statuses(service, refused).values()) == {"failed"}
    assert set(statuses(service, fine).values()) == {"confirmed"}
    shown = service.client.get(f"/api/v1/documents/{refused[0]}", headers=auth).get_json()
    assert "registry refuses" in shown["failure"] and shown["batch"]["status"] == "failed"
    assert shown["batch"]["error"] == shown["failure"]


# ---------------------------------------------------------------- what is held, said once, and resumed


def test_an_issuer_whose_key_cannot_be_opened_is_held_said_once_and_resumes_when_its_secret_is_given(
    service: Service, chain: Chain, sceau: Any, issuer: str, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from certifier.keys import keystore
    from certifier.keys.custody import secrets_path

    own = unique("Université à part")
    monkeypatch.setenv("SCEAU_KEY_PASSPHRASE", "its very own passphrase")
    assert sceau("issuer", "create", own, "--kind", "diploma", "--no-keep-secret").exit_code == 0
    monkeypatch.setenv("SCEAU_KEY_PASSPHRASE", PASSPHRASE)  # the service's one passphrase: wrong for `own`
    unlocks = 0
    real_derive = keystore.IssuerKey.private_key

    def counting(self: keystore.IssuerKey, passphrase: str) -> Any:
        nonlocal unlocks
        unlocks += self.name == own
        return real_derive(self, passphrase)

    monkeypatch.setattr(keystore.IssuerKey, "private_key", counting)
    auth = service.token(own)
    held_ids, _ = submit_api(service, auth, 2)
    other_ids, _ = submit_api(service, service.token(issuer), 2)
    worker = service.worker(batch_seconds=0, retry_base=0.01, retry_max=0.05)
    worker.only = {own, issuer}
    caplog.set_level(logging.INFO, logger="sceau.worker")
    wait_for(lambda: set(statuses(service, other_ids).values()) == {"confirmed"}, "the other issuer", step=worker.tick)
    for _ in range(30):  # many more passes: said once, and scrypt is not run again for the same failure
        worker.tick()
        time.sleep(0.01)
    held = state_of(service, own)
    assert held is not None and held.code == "key_locked" and "wrong passphrase" in held.reason
    assert unlocks == 1
    said = [r for r in caplog.records if own in r.getMessage() and "wrong passphrase" in r.getMessage()]
    assert len(said) == 1
    assert actions(service, own).count("issuer.held") == 1
    shown = service.client.get(f"/api/v1/documents/{held_ids[0]}", headers=auth).get_json()
    assert shown["status"] == "anchoring" and "wrong passphrase" in shown["failure"]
    assert "secrets.toml" in shown["failure"] and "wrong passphrase" in shown["batch"]["error"]
    status = json.loads(sceau("status", "--json").output)
    mine = next(i for i in status["issuers"] if i["name"] == own)
    assert mine["held"]["code"] == "key_locked"
    assert "HELD (key_locked)" in sceau("status").output

    path = secrets_path()
    path.write_text(f'[issuers."{own}"]\npassphrase = "its very own passphrase"\n')
    path.chmod(0o644)
    try:
        wait_for(lambda: "chmod 600" in (getattr(state_of(service, own), "reason", "")), "refusal", step=worker.tick)
    finally:
        path.chmod(0o600)
    worker.run_until_idle()
    assert set(statuses(service, held_ids).values()) == {"confirmed"}
    assert state_of(service, own) is None
    shown = service.client.get(f"/api/v1/documents/{held_ids[0]}", headers=auth).get_json()
    assert shown["failure"] is None
    assert "issuer.resumed" in actions(service, own)
    path.unlink()


def test_an_issuer_out_of_funds_is_held_and_goes_on_once_refunded(
    service: Service, chain: Chain, sceau: Any, issuer: str
) -> None:
    from certifier.keys import keystore

    address = keystore.load(issuer).address
    rpc = chain.w3.provider.make_request
    assert "error" not in rpc("anvil_setBalance", [address, "0x0"])  # type: ignore[arg-type]
    auth = service.token(issuer)
    ids, digests = submit_api(service, auth, 3)
    worker = service.worker(batch_seconds=0, retry_base=0.01, retry_max=0.1)
    worker.only = {issuer}
    held = wait_for(lambda: state_of(service, issuer), "the issuer to be held", step=worker.tick)
    assert held.code == "out_of_funds" and address in held.reason and "Send funds" in held.reason
    shown = service.client.get(f"/api/v1/documents/{ids[0]}", headers=auth).get_json()
    assert "out of funds" in shown["failure"]
    status = json.loads(sceau("status", "--json").output)
    assert next(i for i in status["issuers"] if i["name"] == issuer)["held"]["code"] == "out_of_funds"
    assert "error" not in rpc("anvil_setBalance", [address, hex(10 * 10**18)])  # type: ignore[arg-type]
    worker.run_until_idle()
    assert_exactly_once(service, chain.url, issuer, auth, ids, digests)
    assert state_of(service, issuer) is None


# ---------------------------------------------------------------- a node of its own: outage, health


@pytest.fixture
def node(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OwnNode]:
    """A node of its own (stopped and restarted from its state file), on the test's database."""
    yield from own_node(db_url, tmp_path, monkeypatch, unique("Rectorat isolé"), "diploma")


@pytest.fixture
def lone_node(chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OwnNode]:
    """The same on a database of its own (nothing else held or stuck in it)."""
    yield from own_node(
        f"sqlite:///{tmp_path / 'lone.sqlite'}", tmp_path, monkeypatch, unique("Rectorat isolé"), "diploma"
    )


def test_an_rpc_outage_of_30_seconds_mid_batch_loses_nothing(node: OwnNode, running: Callable[[Any], Running]) -> None:
    from certifier.chain import localchain

    service = node.service
    node.rpc("evm_setAutomine", False)  # the anchor waits in the pool when the node goes away
    ids, digests, worker, batch = batch_under_way(service, node.issuer, node.auth, 4, 3, retry_base=0.2, retry_max=2)
    assert batch.status == "sent"
    localchain.down(node.home)
    outage = time.monotonic()
    run = running(worker)
    held = wait_for(lambda: state_of(service, node.issuer), "the worker to see the outage", timeout=30)
    assert held.code == "chain_unreachable"
    health = service.client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["chain"]["reachable"] is False
    run.stop.wait(max(0.0, 30 - (time.monotonic() - outage)))  # the outage lasts 30 s
    assert run.thread.is_alive()
    localchain.up(node.port, base=node.home, state_interval=3600)
    wait_for(lambda: set(statuses(service, ids).values()) == {"confirmed"}, "the batch after the outage", timeout=90)
    run.end()
    assert_exactly_once(service, node.url, node.issuer, node.auth, ids, digests)
    assert state_of(service, node.issuer) is None
    assert {"issuer.held", "issuer.resumed"} <= set(actions(service, node.issuer))


def test_healthz_tells_ready_from_degraded_and_status_works_with_the_chain_down(lone_node: OwnNode) -> None:
    from certifier.chain import localchain

    service = lone_node.service
    nobody = service.client.get("/healthz")
    assert nobody.status_code == 503 and nobody.get_json()["worker"]["alive"] == 0  # no worker yet
    worker = service.worker()
    worker.tick()
    ready = service.client.get("/healthz")
    body = ready.get_json()
    assert ready.status_code == 200 and body["status"] == "ok", body
    assert body["chain"]["reachable"] and body["worker"]["alive"] == 1 and body["trustAnchors"]
    assert body["queue"] == {**body["queue"], "pending": 0, "stuck": False, "held": []}
    env = {"SCEAU_HOME": str(lone_node.home), "SCEAU_DATABASE_URL": service.ctx.database_url}
    localchain.down(lone_node.home)
    down = service.client.get("/healthz")
    assert down.status_code == 503 and down.get_json()["status"] == "degraded"
    assert down.get_json()["chain"]["reachable"] is False
    shown = run_sceau("status", env={**env, "SCEAU_RPC_URL": lone_node.url})
    assert shown.returncode == 0, shown.stderr
    assert "chain: UNREACHABLE" in shown.stdout and lone_node.issuer in shown.stdout
    data = json.loads(run_sceau("status", "--json", env={**env, "SCEAU_RPC_URL": lone_node.url}).stdout)
    assert data["chain"]["reachable"] is False and data["worker"]["alive"] == 1
    worker.release_all()
    gone = service.client.get("/healthz").get_json()
    assert gone["worker"]["alive"] == 0 and any("no anchoring worker" in p for p in gone["problems"])


# ---------------------------------------------------------------- SIGKILLs, two workers


def test_sigkilled_at_random_moments_loses_nothing_and_anchors_nothing_twice(
    service: Service, chain: Chain, issuer: str
) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from certifier.keys import keystore
    from scripts.fault_sigkill import campaign

    figures = campaign(
        service.ctx.sessions,
        issuer,
        KINDS["diploma"],
        chain.registry,
        keystore.load(issuer).address,
        chain.deployment.block_number,
        documents=200,
        kills=10,
        seed=7,
        batch_size=10,
    )
    assert figures.confirmed == 200 and figures.kills == 10
    assert (figures.lost, figures.anchored_twice, figures.unknown_roots) == (0, 0, 0)


def test_two_workers_on_postgresql_anchor_each_document_exactly_once(
    service: Service, chain: Chain, sceau: Any, running: Callable[[Any], Running]
) -> None:
    if not os.environ.get("SCEAU_TEST_DATABASE_URL"):
        pytest.skip("needs PostgreSQL: set SCEAU_TEST_DATABASE_URL (the Makefile does)")
    from certifier.keys import keystore

    names = [unique("Académie partagée") for _ in range(3)]
    for name in names:
        assert sceau("issuer", "create", name, "--kind", "diploma").exit_code == 0
    overrides = {"batch_seconds": 0, "batch_size": 7, "lease_seconds": 2, "poll_interval": 0.02}
    first, second = service.worker(**overrides), service.worker(**overrides)
    first.only = second.only = set(names)
    runs = [running(first), running(second)]
    ids: dict[str, list[str]] = {}
    for _ in range(4):  # documents keep coming while both work
        for name in names:
            ids.setdefault(name, []).extend(insert(service, name, 10))
    every = [i for group in ids.values() for i in group]
    wait_for(lambda: set(statuses(service, every).values()) == {"confirmed"}, "every document", timeout=180)
    for r in runs:
        r.end()
    for name in names:
        with service.ctx.sessions() as s:
            docs = list(s.scalars(select(Document).where(Document.id.in_(ids[name]))))
            batches = list(s.scalars(select(Batch).where(Batch.issuer == name)))
        assert {b.status for b in batches} == {"confirmed"}
        assert sum(b.document_count for b in batches) == len(docs) == 40
        key = keystore.load(name).address
        logs = chain.registry.events.RootAnchored.get_logs(argument_filters={"key": key}, from_block=0)
        roots = sorted("0x" + bytes(log["args"]["root"]).hex() for log in logs)
        assert roots == sorted(b.root for b in batches), "a root anchored twice, or one missing"
    with service.ctx.sessions() as s:
        assert s.scalar(select(func.count()).where(IssuerState.issuer.in_(names))) == 0


# ---------------------------------------------------------------- the supervisor of `sceau serve`


def test_the_supervisor_restarts_a_failing_worker_with_back_off_and_shows_a_traceback_once(capfd: Any) -> None:
    from certifier.worker.supervisor import Supervisor

    web = [
        sys.executable,
        "-c",
        "import os, sys, time; print('web has the secret:', 'SCEAU_KEY_PASSPHRASE' in os.environ, flush=True);"
        " time.sleep(600)",
    ]
    crash = [sys.executable, "-c", "import os; assert os.environ['SCEAU_KEY_PASSPHRASE'] == 'k', 'no key'; 1 / 0"]
    supervisor = Supervisor(web, crash, environ={**os.environ, "SCEAU_KEY_PASSPHRASE": "k"}, backoff_base=0.05)
    supervisor.backoff_max = 0.4
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    try:
        wait_for(lambda: supervisor.restarts >= 4, "four restarts", timeout=60)
    finally:
        supervisor.stop.set()
        thread.join(60)
    assert not thread.is_alive()
    out, err = capfd.readouterr()
    assert "web has the secret: False" in out
    assert err.count("ZeroDivisionError") >= 4 and err.count("Traceback (most recent call last)") == 1
    assert "the same error again" in err
    assert [supervisor.delay(n) for n in (1, 2, 3, 4, 5)] == [0.05, 0.1, 0.2, 0.4, 0.4]


def test_the_supervisor_starts_the_web_server_once_the_worker_has_opened_its_keys(tmp_path: Path) -> None:
    from certifier.worker.supervisor import Supervisor

    opened = tmp_path / "keys-open"
    worker = [
        sys.executable,
        "-c",
        f"import os, time; time.sleep(1); open({str(opened)!r}, 'w').close();"
        " os.write(int(os.environ['SCEAU_READY_FD']), b'1'); time.sleep(600)",
    ]
    web = [sys.executable, "-c", f"import os, sys; sys.exit(0 if os.path.exists({str(opened)!r}) else 3)"]
    assert Supervisor(web, worker).run() == 0  # the web server's exit code: it found the keys open


def test_a_worker_that_exits_before_it_is_ready_does_not_keep_the_web_server_waiting(tmp_path: Path) -> None:
    from certifier.worker.supervisor import Supervisor

    started = time.monotonic()
    web = [sys.executable, "-c", "import sys; sys.exit(5)"]
    assert Supervisor(web, [sys.executable, "-c", "raise SystemExit(1)"], backoff_base=60).run() == 5
    assert time.monotonic() - started < 30


def test_a_traceback_cut_short_by_the_stop_is_not_shown_again() -> None:
    from certifier.worker.supervisor import TracebackOnce

    shown: list[str] = []
    lines = TracebackOnce(shown.append)
    whole = ["Traceback (most recent call last):\n", '  File "<string>", line 1\n', "ZeroDivisionError: x\n"]
    for line in [*whole, *whole[:2]]:  # the same error, then again, stopped mid-traceback
        lines.feed(line)
    lines.flush()
    assert shown == ["".join(whole), "(the same error again, its traceback cut short)\n"]
    other = TracebackOnce(shown.append)
    other.feed(whole[0])
    other.flush()  # cut short, and never seen whole: shown as it came
    assert shown[-1] == whole[0]


def test_stopped_while_the_worker_opens_its_keys_the_web_server_never_starts(tmp_path: Path) -> None:
    from certifier.worker.supervisor import Supervisor

    started = tmp_path / "web-started"
    web = [sys.executable, "-c", f"open({str(started)!r}, 'w').close()"]
    supervisor = Supervisor(web, [sys.executable, "-c", "import time; time.sleep(600)"])  # never ready
    threading.Timer(0.5, supervisor.stop.set).start()
    begun = time.monotonic()
    assert supervisor.run() == 0
    assert time.monotonic() - begun < 30 and not started.exists()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_sceau_serve_restarts_its_worker_and_keeps_secrets_out_of_the_web_processes(
    chain: Chain, db_url: str, tmp_path: Path
) -> None:
    import signal
    import subprocess

    import requests

    from certifier.store.db import WorkerBeat, session_factory, upgrade

    upgrade(db_url)
    sessions = session_factory(db_url)
    port = free_port()
    exe = Path(sys.executable).parent / "sceau"
    server = subprocess.Popen(
        [str(exe), "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )

    def worker_pids() -> set[int]:
        with sessions() as s:
            holders = s.scalars(select(WorkerBeat.holder).where(WorkerBeat.seen_at > time.time() - 5))
            return {int(h.split(":")[1]) for h in holders} & set(_children(server.pid))

    try:
        [first] = wait_for(worker_pids, "the worker to beat")
        web = [p for p in _children(server.pid) if p != first]
        assert web and all(b"SCEAU_KEY_PASSPHRASE=" not in Path(f"/proc/{p}/environ").read_bytes() for p in web)
        assert b"SCEAU_KEY_PASSPHRASE=" in Path(f"/proc/{first}/environ").read_bytes()
        os.kill(first, signal.SIGKILL)
        [second] = wait_for(lambda: worker_pids() - {first}, "a new worker")
        assert second != first
        body = wait_for(
            lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json(), "healthz", timeout=30
        )
        assert body["worker"]["alive"] >= 1
    finally:
        server.terminate()
        server.wait(60)
        assert server.stderr is not None
        stderr = server.stderr.read().decode()
        server.stderr.close()
        sessions.kw["bind"].dispose()
    assert "the anchoring worker exited with code -9" in stderr
