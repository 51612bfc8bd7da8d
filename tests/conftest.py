"""Shared fixtures: one real anvil node for the session (started the way `sceau chain up` starts
it), the registry deployed on it, and helpers to drive the `sceau` CLI as a user does."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from web3 import Web3

from verifier.core.errors import SceauError

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "correct horse battery staple"
_names = itertools.count(1)
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Chain:
    url: str
    home: Path
    w3: Web3
    deployment: Any

    @property
    def registry(self) -> Any:
        from certifier.chain.deployment import registry_contract

        return registry_contract(self.w3, self.deployment.registry)


@pytest.fixture(scope="session", autouse=True)
def decoy_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Another chain on 127.0.0.1:8545, the default endpoint, for the whole run: a test that falls
    back to the default instead of its own node meets a chain whose genesis is not its anchor's, and
    fails. (When the port is already taken, whatever holds it plays the decoy.)"""
    from certifier.chain import localchain

    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 8545)) == 0:
            yield
            return
    base = tmp_path_factory.mktemp("decoy")
    try:
        localchain.up(8545, base=base)
    except SceauError:  # another run took the port meanwhile: it is the decoy
        yield
        return
    try:
        yield
    finally:
        localchain.down(base)


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    from certifier.chain import localchain
    from certifier.chain.deployment import connect, deploy

    home = tmp_path_factory.mktemp("sceau-home")
    saved = dict(os.environ)
    os.environ.update(SCEAU_HOME=str(home), SCEAU_KEY_PASSPHRASE=PASSPHRASE, SCEAU_SCRYPT_N="2048")
    proc = localchain.up(free_port(), base=home)
    os.environ["SCEAU_RPC_URL"] = proc.url
    try:
        w3 = connect(proc.url)
        deployment, _ = deploy(w3, home)
        yield Chain(proc.url, home, w3, deployment)
    finally:
        localchain.down(home)
        os.environ.clear()
        os.environ.update(saved)


def verifier_for(url: str, deployment: Any) -> Any:
    """A Verifier trusting exactly `deployment`'s registry, reading `url`."""
    from certifier.chain.deployment import trust_anchor
    from verifier.core.anchors import TrustAnchors
    from verifier.service import Verifier

    return Verifier(TrustAnchors((trust_anchor(deployment),), "the test deployment"), url)


@pytest.fixture
def ministry(chain: Chain) -> Iterator[Any]:
    """A Verifier trusting only the session's registry (the ministry's)."""
    made = verifier_for(chain.url, chain.deployment)
    try:
        yield made
    finally:
        made.close()


def unique(prefix: str) -> str:
    return f"{prefix} {next(_names)}"


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str = "the condition",
    step: Callable[[], Any] | None = None,
) -> T:
    """Poll `predicate` (running `step` before each look) until it returns something true, and return
    that; fail naming `what` once `timeout` seconds have passed. For tests that wait on a state
    rather than sleep a guessed time and race a timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if step is not None:
            step()
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def sceau(chain: Chain, db_url: str) -> Any:
    """Run `sceau ARGS…` in-process, as the console script does; returns click's Result. Its
    database (SCEAU_DATABASE_URL) is the test's own, `db_url`."""
    from certifier.cli.commands import cli

    def run(*args: str | Path, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


def run_sceau(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `sceau` console script in a child process, exactly as a user would."""
    exe = Path(sys.executable).parent / "sceau"
    return subprocess.run(
        [str(exe), *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def issuer(chain: Chain, sceau: Any) -> str:
    """A freshly created and accredited diploma issuer."""
    name = unique("Université de Test")
    identifier = unique("0751717J").replace(" ", "-")  # identifiers are unique in a registry
    result = sceau("issuer", "create", name, "--kind", "diploma", "--kind", "transcript", "--id", identifier)
    assert result.exit_code == 0, result.output
    return name


def write_docs(folder: Path, count: int, prefix: str = "diploma") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        p = folder / f"{prefix}-{i}.pdf"
        p.write_bytes(f"%PDF-1.7 diploma {prefix} {i} {os.urandom(8).hex()}".encode())
        paths.append(p)
    return paths


# ---------------------------------------------------------------- the issuer service


class Databases:
    """Fresh service databases, each a copy of one migrated once for the session: a file copied on
    SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL when SCEAU_TEST_DATABASE_URL names a server.
    A copy takes milliseconds where migrating takes a tenth of a second."""

    def __init__(self, folder: Path, server: str | None) -> None:
        import sqlalchemy as sa

        from certifier.store.db import upgrade

        self.folder, self.server = folder, server
        self._names = itertools.count(1)
        if server is None:
            self.admin = None
            self.template = f"sqlite:///{folder / 'template.sqlite'}"
        else:
            self.prefix = f"sceau_test_{os.getpid()}_{os.urandom(3).hex()}"
            self.admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
            self._execute(f"CREATE DATABASE {self.prefix}_template")
            self.template = self._url(f"{self.prefix}_template")
        upgrade(self.template)  # its engine is disposed: nothing stays connected to the template

    def _url(self, name: str) -> str:
        assert self.server is not None
        return self.server.rsplit("/", 1)[0] + "/" + name

    def _execute(self, statement: str) -> None:
        import sqlalchemy as sa

        assert self.admin is not None
        with self.admin.connect() as c:
            c.execute(sa.text(statement))

    def fresh(self) -> str:
        """The URL of a new database holding the newest schema and no rows."""
        n = next(self._names)
        if self.server is None:
            import sqlite3

            path = self.folder / f"sceau-{n}.sqlite"
            src, dst = sqlite3.connect(self.template.removeprefix("sqlite:///")), sqlite3.connect(path)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
            return f"sqlite:///{path}"
        self._execute(f"CREATE DATABASE {self.prefix}_{n} TEMPLATE {self.prefix}_template")
        return self._url(f"{self.prefix}_{n}")

    def drop(self, url: str) -> None:
        """Remove a database made by fresh(), closing whatever is still connected to it."""
        if self.server is None:
            path = Path(url.removeprefix("sqlite:///"))
            for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                p.unlink(missing_ok=True)
            return
        self._execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def close(self) -> None:
        if self.admin is not None:
            self.drop(self.template)
            self.admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    databases = Databases(tmp_path_factory.mktemp("db"), os.environ.get("SCEAU_TEST_DATABASE_URL") or None)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def db_url(chain: Chain, databases: Databases, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of this test's own (SQLite by default; PostgreSQL when SCEAU_TEST_DATABASE_URL
    names a server), dropped after: no worker meets another test's leftovers. It is also
    SCEAU_DATABASE_URL for the test's duration, so the CLI under test, in process or in a child,
    uses the same database as the `service` fixture."""
    url = databases.fresh()
    monkeypatch.setenv("SCEAU_DATABASE_URL", url)
    try:
        yield url
    finally:
        databases.drop(url)


@pytest.fixture(scope="module")
def module_db_url(chain: Chain, databases: Databases) -> Iterator[str]:
    """A database shared by one module's long-lived app (a world built once, then only read); not
    put in the environment: each test's CLI keeps its own `db_url`."""
    url = databases.fresh()
    try:
        yield url
    finally:
        databases.drop(url)


@dataclass
class Service:
    app: Any
    client: Any
    ctx: Any

    def worker(self, **overrides: Any) -> Any:
        from dataclasses import replace

        from certifier.worker.anchoring import Worker

        settings = replace(self.ctx.settings, **overrides)
        return Worker(self.ctx.sessions, self.ctx.w3, self.ctx.deployment, settings)

    def token(self, issuer: str, scopes: str = "issue,revoke,read") -> dict[str, str]:
        from certifier.service.auth import create_token, parse_scopes

        with self.ctx.sessions() as s:
            _, secret = create_token(s, issuer, parse_scopes(scopes))
            s.commit()
        return {"Authorization": f"Bearer {secret}"}

    @classmethod
    def of(cls, app: Any) -> Service:
        return cls(app, app.test_client(), app.extensions["sceau"])


def issuer_app(db_url: str, rpc_url: str, storage: Path, *, testing: bool = True, **settings: str) -> Any:
    """The issuer service's app for a test, on `db_url`, the node at `rpc_url` and files in `storage`;
    `settings` (SCEAU_…) add to or replace those. Not `testing`: as served to a browser."""
    from certifier.service.app import create_app

    base = {"SCEAU_DATABASE_URL": db_url, "SCEAU_RPC_URL": rpc_url, "SCEAU_STORAGE": str(storage)}
    return create_app({**({"TESTING": True} if testing else {}), **base, **settings})


def serve(app: Any) -> Iterator[str]:
    """For a fixture: `app` served over HTTP on a free port (its base URL), then stopped and disposed."""
    from werkzeug.serving import make_server

    port = free_port()
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        thread.join()
        app.extensions["sceau"].dispose()


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def served_app(chain: Chain, module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The issuer service (verifier page and console) as a browser reaches it, for one module."""
    storage = tmp_path_factory.mktemp("s")
    return issuer_app(module_db_url, chain.url, storage, testing=False, SCEAU_BATCH_SECONDS="3600")


@pytest.fixture(scope="module")
def server(served_app: Any) -> Iterator[str]:
    """The base URL `served_app` is served at."""
    yield from serve(served_app)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, quiet (no updates, sync or first run)."""
    from playwright.sync_api import sync_playwright

    flags = ["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", *flags])
        yield launched
        launched.close()


def issue_certified_pdf(sceau: Any, issuer: str, tmp_path: Path, title: str) -> Path:
    """The certified PDF `issuer` issues (valid from 2026-07-01) for a diploma headed `title`."""
    from tests.pdfs import diploma_pdf

    original = tmp_path / "master.pdf"
    original.write_bytes(diploma_pdf(title))
    result = sceau("issue", "--issuer", issuer, "--certified-pdf", "--valid-from", "2026-07-01", "--json", original)
    assert result.exit_code == 0, result.output
    return Path(json.loads(result.output)["certifiedPdfs"][0])


#: The checks of an online verification of a document with its receipt, in RECEIPT.md §4's order.
ONLINE_CHECKS = ["integrity", "merkle_proof", "trust_anchor", "anchor", "issuer", "revocation", "expiry"]


def never_anchored_receipt(document: Path, real: Any = None) -> Any:
    """A receipt for `document` alone, well formed and naming the real anchor of `real` (default: the
    receipt beside it, DOCUMENT.receipt.json), but for a batch root no one anchored: the chain does
    not know it."""
    from certifier.chain.merkle_batch import MerkleBatch
    from verifier.core.hashing import sha256_file
    from verifier.core.receipt import Receipt

    if real is None:
        real = Receipt.from_json(document.with_name(document.name + ".receipt.json").read_bytes())
    return MerkleBatch.build([sha256_file(document)], 1, real.document.valid_from).receipts(
        chain_id=real.chain_id,
        registry=real.registry,
        transaction_hash=real.anchor.transaction_hash,
        block_number=real.anchor.block_number,
        block_hash=real.anchor.block_hash,
        issuer_key=real.anchor.issuer_key,
    )[0]


def seal_args(issuer: str, out: Path, *fields: str) -> list[str | Path]:
    """The arguments of `sceau seal` for a diploma of `issuer` showing `fields` (key=value), its QR
    written to `out`, the answer in JSON."""
    shown = [arg for field in fields for arg in ("--field", field)]
    return ["seal", "--issuer", issuer, "--kind", "diploma", *shown, "--out", out, "--json"]


@pytest.fixture
def service(chain: Chain, db_url: str, tmp_path: Path) -> Iterator[Service]:
    app = issuer_app(
        db_url,
        chain.url,
        tmp_path / "storage",
        SCEAU_BATCH_SECONDS="3600",
        SCEAU_REPLACE_AFTER="600",
        SCEAU_MAX_UPLOAD_BYTES=str(4 * 1024 * 1024),
    )
    service = Service.of(app)
    yield service
    service.ctx.dispose()


@dataclass
class OwnNode:
    """A node of its own, with the registry and one issuer, and the issuer service on it."""

    url: str
    port: int
    home: Path
    issuer: str
    service: Service
    auth: dict[str, str]

    def rpc(self, method: str, *params: Any) -> Any:
        reply = self.service.ctx.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        assert "error" not in reply, reply
        return reply.get("result")


def own_node(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, issuer: str, kind: str, *, restarted: bool = False
) -> Iterator[OwnNode]:
    """For a fixture: a node of its own (its state written only on a clean stop) with the registry and
    `issuer` (of `kind`) on it, `restarted` once from its state file if asked, stopped at the end."""
    from certifier.chain import localchain
    from certifier.chain.deployment import connect, deploy
    from certifier.chain.issuers import create_issuer

    home = tmp_path / "home"
    port = free_port()
    monkeypatch.setenv("SCEAU_HOME", str(home))
    proc = localchain.up(port, base=home, state_interval=3600)
    monkeypatch.setenv("SCEAU_RPC_URL", proc.url)
    try:
        deploy(connect(proc.url), home)
        create_issuer(connect(proc.url), issuer, (kind,), None, PASSPHRASE, base=home)
        if restarted:
            localchain.down(home)  # a clean stop writes the state: registry and issuer survive restarts
            localchain.up(port, base=home, state_interval=3600)
        service = Service.of(issuer_app(db_url, proc.url, tmp_path / "storage", SCEAU_BATCH_SECONDS="3600"))
        yield OwnNode(proc.url, port, home, issuer, service, service.token(issuer))
        service.ctx.dispose()
    finally:
        localchain.down(home)
