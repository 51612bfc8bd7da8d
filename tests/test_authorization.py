"""The authorization matrix: every endpoint × every kind of caller, each case asserting its one right
status. One issuer's token never sees or touches another issuer's documents, a refused call changes
nothing, and no combination answers 500.

The world is built once per module, but no case depends on another's leftovers: each revocation case
revokes a document of its own (anchored for it in the world's one batch), and `POST /batches` always
finds something of its caller's pending, submitted by the case itself."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Chain, Service, unique

# (method, path template, scope needed, the owner's one right status)
ENDPOINTS = [
    ("POST", "/api/v1/documents", "issue", 202),
    ("GET", "/api/v1/documents/{doc}", "read", 200),
    ("GET", "/api/v1/documents/{doc}/receipt", "read", 200),
    ("POST", "/api/v1/documents/{doc}/revocation", "revoke", 202),
    ("POST", "/api/v1/revocations", "revoke", 202),
    ("POST", "/api/v1/batches", "issue", 202),
    ("GET", "/api/v1/batches", "read", 200),
    ("GET", "/api/v1/batches/{batch}", "read", 200),
    ("GET", "/api/v1/audit", "read", 200),
]
UNAUTHENTICATED = ["none", "garbage", "not-bearer", "revoked"]
CALLERS = [*UNAUTHENTICATED, "owner-read-only", "owner-issue-only", "owner-revoke-only", "other-issuer"]
REVOKING = [path for _, path, scope, _ in ENDPOINTS if scope == "revoke"]


@dataclass
class World:
    service: Service
    tokens: dict[str, dict[str, str]]
    doc: str  # A's confirmed document, only ever read
    batch: str  # its batch
    to_revoke: dict[tuple[str, str], str]  # (caller, path) -> a confirmed document of A's for that case alone


def submit(world: World, who: str) -> str:
    """Submit one document as `who`'s issuer (with its full token): something of theirs pending."""
    auth = world.tokens["owner" if who.startswith("owner") else who]
    body = {"documents": [{"sha256": os.urandom(32).hex()}]}
    response = world.service.client.post("/api/v1/documents", json=body, headers=auth)
    assert response.status_code == 202, response.text
    return str(response.get_json()["documents"][0]["id"])


def batch_of(world: World, doc_id: str) -> str | None:
    from certifier.store.db import Document

    with world.service.ctx.sessions() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        return doc.batch_id


@pytest.fixture(scope="module")
def world(chain: Chain, module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Two issuers; A with one confirmed document to read and one per revocation case; tokens of
    every kind."""
    from click.testing import CliRunner

    from certifier.cli.commands import cli
    from certifier.service.app import create_app
    from certifier.service.auth import create_token, revoke_token

    app = create_app(
        {
            "TESTING": True,
            "SCEAU_DATABASE_URL": module_db_url,
            "SCEAU_RPC_URL": chain.url,
            "SCEAU_STORAGE": str(tmp_path_factory.mktemp("authz")),
            "SCEAU_BATCH_SECONDS": "3600",
        }
    )
    service = Service(app, app.test_client(), app.extensions["sceau"])
    a, b = unique("Université A"), unique("Université B")
    for name in (a, b):
        result = CliRunner().invoke(cli, ["issuer", "create", name, "--kind", "diploma"])
        assert result.exit_code == 0, result.output
    full_a = service.token(a)
    cases = [(who, path) for who in [*CALLERS, "owner"] for path in REVOKING]
    digests = [{"sha256": os.urandom(32).hex()} for _ in range(1 + len(cases))]
    response = service.client.post("/api/v1/documents", json={"documents": digests}, headers=full_a)
    assert response.status_code == 202, response.text
    doc, *revocable = (d["id"] for d in response.get_json()["documents"])
    response = service.client.post("/api/v1/batches", headers=full_a)
    assert response.status_code == 202, response.text
    [made] = response.get_json()["batches"]
    service.worker().run_until_idle()
    assert service.client.get(f"/api/v1/batches/{made['id']}", headers=full_a).get_json()["status"] == "confirmed"
    with service.ctx.sessions() as s:
        revoked, revoked_secret = create_token(s, a, ["issue", "revoke", "read"])
        revoke_token(s, revoked.id)
        s.commit()
    tokens = {
        "none": {},
        "garbage": {"Authorization": "Bearer sceau_not-a-token"},
        "not-bearer": {"Authorization": "Basic YTpi"},
        "revoked": {"Authorization": f"Bearer {revoked_secret}"},
        "owner": full_a,
        "owner-read-only": service.token(a, "read"),
        "owner-issue-only": service.token(a, "issue"),
        "owner-revoke-only": service.token(a, "revoke"),
        "other-issuer": service.token(b),
    }
    yield World(service, tokens, doc, made["id"], dict(zip(cases, revocable, strict=True)))
    service.ctx.dispose()


def call(world: World, who: str, method: str, path: str) -> Any:
    """Call `path` as `who`, with a body of the endpoint's shape naming this case's own document."""
    doc = world.to_revoke[who, path] if path in REVOKING else world.doc
    body: Any = None
    if path == "/api/v1/documents":
        body = {"documents": [{"sha256": os.urandom(32).hex()}]}
    elif path.endswith("/revocation"):
        body = {"reason": "fraud"}
    elif path == "/api/v1/revocations":
        body = {"documents": [doc], "reason": "fraud"}
    return world.service.client.open(
        path.format(doc=doc, batch=world.batch), method=method, headers=world.tokens[who], json=body
    )


def counts(world: World) -> tuple[int, ...]:
    """How many documents, batches, revocations, tokens and audit entries the store holds."""
    from certifier.store.db import AuditEntry, Batch, Document, Revocation, Token

    with world.service.ctx.sessions() as s:
        return tuple(
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Document, Batch, Revocation, Token, AuditEntry)
        )


def assert_done(world: World, who: str, path: str, response: Any, pending: str | None) -> None:
    """A 202 did what it said: one document accepted, this case's document revoked, or the
    caller's pending document batched."""
    body = response.get_json()
    if path == "/api/v1/documents":
        assert [d["status"] for d in body["documents"]] == ["pending"]
    elif path in REVOKING:
        assert [r["documents"] for r in body["revocations"]] == [[world.to_revoke[who, path]]]
    else:
        assert pending is not None and batch_of(world, pending) in {b["id"] for b in body["batches"]}


def expected(who: str, scope: str, path: str, owners: int) -> int:
    """The one right status for `who` calling an endpoint needing `scope`."""
    if who in UNAUTHENTICATED:
        return 401
    if who.startswith("owner-"):
        return owners if who == f"owner-{scope}-only" else 403
    touches_a = "{doc}" in path or "{batch}" in path or path == "/api/v1/revocations"
    return 404 if touches_a else owners  # another issuer's things do not exist for this token


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
@pytest.mark.parametrize("who", CALLERS)
def test_authorization_matrix(world: World, endpoint: tuple[str, str, str, int], who: str) -> None:
    method, path, scope, owners = endpoint
    want = expected(who, scope, path, owners)
    pending = submit(world, who) if (method, path, want) == ("POST", "/api/v1/batches", 202) else None
    before = counts(world)
    response = call(world, who, method, path)
    assert response.status_code == want, response.text
    if want >= 400:
        assert response.get_json()["error"]
        if want == 403:
            assert scope in response.get_json()["error"]
        assert counts(world) == before, "a refused call changed the store"
    if who == "other-issuer" and want < 400:  # (a 404 names the id it was asked for: no leak)
        text = response.get_data(as_text=True)
        assert world.doc not in text and world.batch not in text
    if want == 202:
        assert_done(world, who, path, response, pending)


def test_the_owner_reaches_everything(world: World) -> None:
    for method, path, _, want in ENDPOINTS:
        pending = submit(world, "owner") if (method, path) == ("POST", "/api/v1/batches") else None
        response = call(world, "owner", method, path)
        assert response.status_code == want, (method, path, response.get_json())
        if want == 202:
            assert_done(world, "owner", path, response, pending)
