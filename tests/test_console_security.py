"""The console against the attacks a review named: framing, cross-site forms (login and logout
too), a session cookie copied before logout, cookies over plain HTTP, a revocation by a slip of
the mouse; and the service's files, private to its user whatever the umask."""

from __future__ import annotations

import io
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Chain, Service, issuer_app, run_sceau
from tests.test_console import csrf, login


def session_cookie(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return str(cookie.value)


def test_pages_forbid_framing_and_foreign_scripts(service: Service, issuer: str) -> None:
    client = login(service, issuer)
    for page in (client.get("/console/"), service.app.test_client().get("/console/login")):
        csp = page.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "default-src 'none'" in csp
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Cache-Control"] == "no-store"
        assert "<script>" not in page.text and " on" not in re.sub(r"<script src=[^>]+>", "", page.text).lower()


def test_login_and_logout_need_the_csrf_token(service: Service, issuer: str) -> None:
    secret = service.token(issuer)["Authorization"].removeprefix("Bearer ")
    client = service.app.test_client()
    client.get("/console/login")
    forged = client.post("/console/login", data={"token": secret})  # a foreign page logging the victim in
    assert forged.status_code == 400 and "reload the page" in forged.text
    assert client.get("/console/").status_code == 302

    client = login(service, issuer)
    assert client.post("/console/logout").status_code == 400  # a foreign page logging the victim out
    assert client.post("/console/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/console/").status_code == 200


def test_a_cookie_copied_before_logout_stops_working(service: Service, issuer: str) -> None:
    client = login(service, issuer)
    home = client.get("/console/")
    stolen = session_cookie(client)
    thief = service.app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/console/").status_code == 200  # a copied cookie works while the session lasts
    response = client.post("/console/logout", data={"csrf_token": csrf(home.text)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/login")
    assert thief.get("/console/").status_code == 302  # ended on the server, not only in the browser
    assert client.get("/console/").status_code == 302


@contextmanager
def latest_console_session(service: Service) -> Iterator[tuple[Any, Any]]:
    """The store's session and the console session opened last, committed after the block."""
    from sqlalchemy import select

    from certifier.store.db import ConsoleSession

    with service.ctx.sessions() as s:
        row = s.scalars(select(ConsoleSession).order_by(ConsoleSession.created_at.desc())).first()
        assert row is not None
        yield s, row
        s.commit()


def test_revoking_the_token_ends_its_console_sessions(service: Service, issuer: str) -> None:
    from certifier.service.auth import revoke_token

    client = login(service, issuer)
    with latest_console_session(service) as (s, row):
        revoke_token(s, row.token_id)
    assert client.get("/console/").status_code == 302


def test_an_old_or_idle_session_ends(service: Service, issuer: str) -> None:
    from certifier.service.console import IDLE

    client = login(service, issuer)
    with latest_console_session(service) as (_, row):
        row.seen_at -= IDLE + 1
    assert client.get("/console/").status_code == 302


def test_only_the_console_reads_a_session_cookie(service: Service, issuer: str) -> None:
    """A console cookie sent to the API or the verifier is not even unsigned there: those requests
    get Flask's null session, which nothing can be stored in."""
    client = login(service, issuer)
    cookie = client.get_cookie("session")
    assert cookie is not None
    headers = {"Cookie": f"session={cookie.value}"}
    app = service.app
    with app.test_request_context("/console/", headers=headers) as ctx:
        console = app.session_interface.open_session(app, ctx.request)
        assert console is not None and console.get("sid")
    for path in ("/api/v1/verify", "/api/v1/documents", "/verify"):
        with app.test_request_context(path, method="POST", headers=headers) as ctx:
            assert app.session_interface.open_session(app, ctx.request) is None, path


def test_the_cookie_is_secure_over_https_only(service: Service, issuer: str) -> None:
    secret = service.token(issuer)["Authorization"].removeprefix("Bearer ")
    plain = service.app.test_client()
    assert "Secure" not in plain.get("/console/login").headers["Set-Cookie"]
    tls = service.app.test_client()
    page = tls.get("/console/login", base_url="https://sceau.example")
    assert "Secure" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
    assert "SameSite=Lax" in page.headers["Set-Cookie"]
    response = tls.post(
        "/console/login",
        data={"token": secret, "csrf_token": csrf(page.text)},
        base_url="https://sceau.example",
        headers={"Referer": "https://sceau.example/console/login"},
    )
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]


@pytest.fixture
def proxied(chain: Chain, db_url: str, tmp_path: Path) -> Iterator[Any]:
    app = issuer_app(db_url, chain.url, tmp_path / "storage", SCEAU_PROXIES="1")
    yield app
    app.extensions["sceau"].dispose()


def test_behind_a_trusted_proxy_forwarded_https_makes_the_cookie_secure(proxied: Any, service: Service) -> None:
    forwarded = proxied.test_client().get("/console/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in forwarded.headers["Set-Cookie"]
    # without SCEAU_PROXIES the header is anyone's to send, and ignored
    ignored = service.app.test_client().get("/console/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in ignored.headers["Set-Cookie"]


def test_a_revocation_needs_a_chosen_reason_and_a_confirmation(service: Service, issuer: str) -> None:
    from certifier.store.db import Document

    auth = service.token(issuer)
    doc_id = service.client.post(
        "/api/v1/documents", json={"documents": [{"sha256": os.urandom(32).hex()}]}, headers=auth
    ).get_json()["documents"][0]["id"]
    service.client.post("/api/v1/batches", headers=auth)
    service.worker().run_until_idle()
    client = login(service, issuer)
    page = client.get("/console/").text
    row = page[page.index(f'data-document="{doc_id}"') :]
    select = row[row.index("<select") : row.index("</select>")]
    assert "required" in select and '<option value="" selected disabled>' in select  # nothing preselected
    assert select.count("selected") == 1

    no_reason = client.get(f"/console/documents/{doc_id}/revoke", follow_redirects=True)
    assert "choose a reason" in no_reason.text
    unconfirmed = client.post(f"/console/documents/{doc_id}/revoke", data={"csrf_token": csrf(page), "reason": "fraud"})
    assert unconfirmed.status_code == 302 and "reason=fraud" in unconfirmed.headers["Location"]
    with service.ctx.sessions() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None and doc.revocation_id is None  # nothing queued without the confirmation

    confirm = client.get(f"/console/documents/{doc_id}/revoke?reason=fraud")
    assert "This cannot be undone" in confirm.text and 'value="fraud"' in confirm.text
    done = client.post(
        f"/console/documents/{doc_id}/revoke",
        data={"csrf_token": csrf(confirm.text), "reason": "fraud", "confirm": "yes"},
        follow_redirects=True,
    )
    assert "queued (fraud)" in done.text


def test_the_console_issues_rosters_through_the_api_s_operation(service: Service, issuer: str) -> None:
    """No form field of the console leaks into the API (the API whitelists no 'csrf' field)."""
    client = login(service, issuer)
    page = client.get("/console/").text
    refused = client.post(
        "/console/rosters",
        data={"csrf_token": csrf(page), "roster": (io.BytesIO(b"not,a,roster\n"), "r.csv")},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 400
    assert "archive: required" in refused.get_json()["problems"]
    api = service.client.post(
        "/api/v1/rosters",
        data={"csrf": "x", "roster": (io.BytesIO(b"x"), "r.csv")},
        headers=service.token(issuer),
        content_type="multipart/form-data",
    )
    assert "csrf: unknown field" in api.get_json()["problems"]


# ---------------------------------------------------------------- files


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_service_s_files_are_private_whatever_the_umask(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from certifier.service.app import create_app
    from certifier.store.uploads import commit_file, store_stream

    home = tmp_path / "home"
    monkeypatch.setenv("SCEAU_HOME", str(home))
    monkeypatch.delenv("SCEAU_SECRET_KEY", raising=False)
    old = os.umask(0o022)  # a permissive umask, as a login shell has
    try:
        app = create_app({"SCEAU_DATABASE_URL": f"sqlite:///{home / 'sceau.sqlite'}", "SCEAU_RPC_URL": chain.url})
        ctx = app.extensions["sceau"]
        with ctx.sessions() as s:
            s.execute(text("SELECT 1 FROM tokens"))
            database = [home / "sceau.sqlite", home / "sceau.sqlite-wal", home / "sceau.sqlite-shm"]
            assert all(p.exists() for p in database)  # WAL and SHM exist while a connection is open
            for path in database:
                assert mode(path) == 0o600, (path, oct(mode(path)))
        os.umask(0o022)  # even if something reset it: uploads pass their own modes
        digest, tmp = store_stream(io.BytesIO(b"%PDF-1.7 private"), ctx.storage)
        assert mode(tmp) == 0o600
        final = commit_file(tmp, ctx.storage, digest)
        for path in [home, home / "instance", ctx.storage, final.parent, final, home / "instance" / "secret_key"]:
            assert mode(path) == (0o700 if path.is_dir() else 0o600), (path, oct(mode(path)))
        ctx.dispose()
    finally:
        os.umask(old)


def test_the_cli_creates_private_files_and_folders(chain: Chain, tmp_path: Path) -> None:
    home = tmp_path / "cli-home"
    old = os.umask(0o022)
    try:
        proc = run_sceau("token", "list", env={"SCEAU_HOME": str(home), "SCEAU_DATABASE_URL": ""})
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr
    assert mode(home) == 0o700
    for path in home.rglob("*"):
        assert mode(path) & 0o077 == 0, (path, oct(mode(path)))
    assert mode(home / "sceau.sqlite") == 0o600
