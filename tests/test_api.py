"""The issuer API end to end, driven as a registrar's information system drives it, with the real
anchoring worker and the real chain."""

from __future__ import annotations

import hashlib
import io
import json
import os
from typing import Any

import pytest

from tests.conftest import Chain, Service, verifier_for
from verifier.core.receipt import Receipt
from verifier.verify import verify_document


def pdf(i: int, size: int = 2048) -> bytes:
    return f"%PDF-1.7 diplome {i} ".encode() + os.urandom(size)


def upload(service: Service, headers: dict[str, str], files: list[tuple[str, bytes]], **form: Any) -> Any:
    data: dict[str, Any] = {"file": [(io.BytesIO(content), name) for name, content in files], **form}
    return service.client.post("/api/v1/documents", data=data, headers=headers, content_type="multipart/form-data")


def confirmed_receipt(service: Service, headers: dict[str, str], doc_id: str) -> Receipt:
    response = service.client.get(f"/api/v1/documents/{doc_id}/receipt", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/vnd.sceau.receipt.v1+json"
    return Receipt.from_json(response.data)


def verdict(chain: Chain, digest: bytes, receipt: Receipt) -> str:
    return verify_document(digest, receipt, verifier_for(chain.url, chain.deployment)).outcome.value


def doc_count(service: Service) -> int:
    from sqlalchemy import func, select

    from certifier.store.db import Document

    with service.ctx.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Document)) or 0)


def test_upload_files_flush_and_get_verifiable_receipts(service: Service, chain: Chain, issuer: str) -> None:
    auth = service.token(issuer)
    files = [(f"diplome-{i}.pdf", pdf(i)) for i in range(3)]
    response = upload(service, auth, files, kind="diploma", reference=["E1", "E2", "E3"])
    assert response.status_code == 202, response.get_json()
    docs = response.get_json()["documents"]
    assert [d["sha256"] for d in docs] == [hashlib.sha256(c).hexdigest() for _, c in files]
    assert {d["status"] for d in docs} == {"pending"}
    assert service.client.get(f"/api/v1/documents/{docs[0]['id']}/receipt", headers=auth).status_code == 409

    flushed = service.client.post("/api/v1/batches", headers=auth)
    assert flushed.status_code == 202 and flushed.get_json()["batches"][0]["documentCount"] == 3
    state = service.client.get(f"/api/v1/documents/{docs[0]['id']}", headers=auth).get_json()
    assert state["status"] == "anchoring" and state["reference"] == "E1" and state["filename"] == "diplome-0.pdf"

    service.worker().run_until_idle()
    for (_name, content), d in zip(files, docs, strict=True):
        state = service.client.get(f"/api/v1/documents/{d['id']}", headers=auth).get_json()
        assert state["status"] == "confirmed" and state["batch"]["transactionHash"].startswith("0x")
        receipt = confirmed_receipt(service, auth, d["id"])
        assert verdict(chain, hashlib.sha256(content).digest(), receipt) == "valid"
        assert (service.ctx.storage / d["sha256"][:2] / d["sha256"]).read_bytes() == content


def test_precomputed_digests_are_certified_without_the_documents(service: Service, chain: Chain, issuer: str) -> None:
    auth = service.token(issuer)
    digests = [os.urandom(32) for _ in range(4)]
    body = {"documents": [{"sha256": d.hex(), "kind": "transcript", "validUntil": "2099-12-31"} for d in digests]}
    response = service.client.post("/api/v1/documents", json=body, headers=auth)
    assert response.status_code == 202, response.get_json()
    ids = [d["id"] for d in response.get_json()["documents"]]
    service.client.post("/api/v1/batches", headers=auth)
    service.worker().run_until_idle()
    for digest, doc_id in zip(digests, ids, strict=True):
        receipt = confirmed_receipt(service, auth, doc_id)
        assert receipt.document.kind == 3 and receipt.document.valid_until > 0
        assert verdict(chain, digest, receipt) == "valid"


def test_the_worker_batches_by_size_and_by_age(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    body = {"documents": [{"sha256": os.urandom(32).hex()} for _ in range(5)]}
    ids = [d["id"] for d in service.client.post("/api/v1/documents", json=body, headers=auth).get_json()["documents"]]
    first = service.worker(batch_size=2, batch_seconds=3600)
    first.tick()
    first.release_all()
    states = [service.client.get(f"/api/v1/documents/{i}", headers=auth).get_json()["status"] for i in ids]
    assert states.count("pending") == 1  # two full batches of two, one document still waiting
    service.worker(batch_size=2, batch_seconds=0).run_until_idle()
    batches = service.client.get("/api/v1/batches", headers=auth).get_json()["batches"]
    assert sorted(b["documentCount"] for b in batches) == [1, 2, 2]
    assert {b["status"] for b in batches} == {"confirmed"}


def test_idempotency_key_replays_the_first_answer(service: Service, issuer: str) -> None:
    auth = {**service.token(issuer), "Idempotency-Key": "import-2026-11-28"}
    body = {"documents": [{"sha256": os.urandom(32).hex()}]}
    before = doc_count(service)
    first = service.client.post("/api/v1/documents", json=body, headers=auth)
    again = service.client.post("/api/v1/documents", json=body, headers=auth)
    assert first.status_code == again.status_code == 202
    assert first.get_json() == again.get_json()
    assert doc_count(service) == before + 1
    other = service.client.post(
        "/api/v1/documents", json={"documents": [{"sha256": os.urandom(32).hex()}]}, headers=auth
    )
    assert other.status_code == 422 and "different request" in other.get_json()["error"]


def test_multipart_idempotency_too(service: Service, issuer: str) -> None:
    auth = {**service.token(issuer), "Idempotency-Key": "upload-1"}
    content = pdf(1)
    first = upload(service, auth, [("a.pdf", content)])
    again = upload(service, auth, [("a.pdf", content)])
    assert first.get_json() == again.get_json()


def test_bad_json_lists_every_problem_and_writes_nothing(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    before = doc_count(service)
    body = {
        "documents": [
            {"sha256": "abc", "kind": "spaceship"},
            {"sha256": os.urandom(32).hex(), "validUntil": "31/12/2030", "colour": "blue"},
            {"sha256": os.urandom(32).hex(), "kind": "residence_permit"},
            {"sha256": 42, "reference": ["x"]},
            "not an object",
        ],
        "extra": True,
    }
    response = service.client.post("/api/v1/documents", json=body, headers=auth)
    assert response.status_code == 400
    problems = response.get_json()["problems"]
    assert problems == [
        "extra: unknown field",
        "documents[0].sha256: must be 64 hex digits (the document's SHA-256)",
        "documents[0].kind: must be one of 'diploma', 'residence_permit', 'transcript', 'certificate', "
        "'identity_document'",
        "documents[1].colour: unknown field",
        "documents[1].validUntil: '31/12/2030' is not a date like 2031-06-30, a date-time like 2031-06-30T12:00:00Z "
        "or Unix seconds",
        "documents[3].sha256: must be a string",
        "documents[3].reference: must be a string",
        "documents[4]: must be an object",
        "documents[2].kind: this issuer may certify diploma, transcript, not residence_permit",
    ]
    assert [d["code"] for d in response.get_json()["details"]][-1] == "kind_not_accredited"
    assert doc_count(service) == before


def test_bad_multipart_lists_every_problem_and_writes_nothing(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    before = doc_count(service)
    files_before = sorted(p.name for p in service.ctx.storage.rglob("*"))
    data: dict[str, Any] = {
        "file": [(io.BytesIO(b""), "empty.pdf"), (io.BytesIO(pdf(1)), "ok.pdf")],
        "colour": "blue",
        "validUntil": "never",
    }
    response = service.client.post("/api/v1/documents", data=data, headers=auth, content_type="multipart/form-data")
    assert response.status_code == 400
    problems = response.get_json()["problems"]
    assert "colour: unknown field" in problems
    assert "file[0] empty.pdf: the file is empty" in problems
    assert any("validUntil" in p and "'never'" in p for p in problems)
    assert doc_count(service) == before
    assert sorted(p.name for p in service.ctx.storage.rglob("*")) == files_before


def test_oversize_upload_gets_413_with_the_limit(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="huge.pdf"\r\n\r\n'
    body += b"x" * (5 * 1024 * 1024) + b"\r\n--b--\r\n"
    response = service.client.post(
        "/api/v1/documents", data=body, headers=auth, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 413
    assert "4194304 bytes (4 MiB)" in response.get_json()["error"]


def test_wrong_content_type_is_415(service: Service, issuer: str) -> None:
    response = service.client.post(
        "/api/v1/documents", data="hello", headers=service.token(issuer), content_type="text/plain"
    )
    assert response.status_code == 415


def test_revoke_one_then_many_and_the_verifier_sees_it(service: Service, chain: Chain, issuer: str) -> None:
    auth = service.token(issuer)
    digests = [os.urandom(32) for _ in range(5)]
    ids = [
        d["id"]
        for d in service.client.post(
            "/api/v1/documents", json={"documents": [{"sha256": d.hex()} for d in digests]}, headers=auth
        ).get_json()["documents"]
    ]
    early = service.client.post(f"/api/v1/documents/{ids[0]}/revocation", json={"reason": "fraud"}, headers=auth)
    assert early.status_code == 409 and "only anchored documents" in early.get_json()["error"]
    service.client.post("/api/v1/batches", headers=auth)
    service.worker().run_until_idle()

    one = service.client.post(
        f"/api/v1/documents/{ids[0]}/revocation", json={"reason": "clerical_error", "replacedBy": ids[4]}, headers=auth
    )
    assert one.status_code == 202, one.get_json()
    many = service.client.post(
        "/api/v1/revocations", json={"documents": [ids[1], ids[2]], "reason": "annulment"}, headers=auth
    )
    assert many.status_code == 202 and len(many.get_json()["revocations"]) == 1  # one batch, one transaction
    again = service.client.post(f"/api/v1/documents/{ids[1]}/revocation", json={"reason": "fraud"}, headers=auth)
    assert again.status_code == 409
    service.worker().run_until_idle()

    outcomes = [verdict(chain, d, confirmed_receipt(service, auth, i)) for d, i in zip(digests, ids, strict=True)]
    assert outcomes == ["revoked", "revoked", "revoked", "valid", "valid"]
    state = service.client.get(f"/api/v1/documents/{ids[1]}", headers=auth).get_json()
    assert state["revocation"]["status"] == "confirmed" and state["revocation"]["reason"] == "annulment"
    bad = service.client.post(
        f"/api/v1/documents/{ids[3]}/revocation", json={"reason": "boredom", "x": 1}, headers=auth
    )
    assert bad.status_code == 400 and len(bad.get_json()["problems"]) == 2


def test_audit_log_records_every_action_with_transaction_hashes(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    service.client.post("/api/v1/documents", json={"documents": [{"sha256": os.urandom(32).hex()}]}, headers=auth)
    service.client.post("/api/v1/batches", headers=auth)
    service.worker().run_until_idle()
    entries = service.client.get("/api/v1/audit?limit=1000", headers=auth).get_json()["entries"]
    actions = [e["action"] for e in entries]
    for expected in (
        "documents.submitted",
        "batch.recorded",
        "transaction.signed",
        "transaction.broadcast",
        "transaction.mined",
        "anchor.confirmed",
    ):
        assert expected in actions
    assert actions.index("transaction.signed") < actions.index("transaction.broadcast")
    assert all(e["transactionHash"] for e in entries if e["action"].startswith("transaction."))
    page = service.client.get(f"/api/v1/audit?after={entries[0]['id']}&limit=1", headers=auth).get_json()
    assert page["entries"][0]["id"] > entries[0]["id"] and page["next"] == page["entries"][0]["id"]


def test_the_audit_log_is_append_only_in_the_database(service: Service, issuer: str) -> None:
    import sqlalchemy as sa

    service.token(issuer)  # one entry at least ("token.created"): row triggers fire only on rows
    with service.ctx.sessions() as s:
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            s.execute(sa.text("DELETE FROM audit"))
        s.rollback()
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            s.execute(sa.text("UPDATE audit SET actor = 'someone else'"))


def test_tokens_from_the_cli(service: Service, sceau: Any, issuer: str) -> None:
    created = sceau("token", "create", "--issuer", issuer, "--scope", "read", "--json")
    assert created.exit_code == 0, created.output
    info = json.loads(created.output)
    assert info["scopes"] == ["read"] and info["token"].startswith("sceau_")
    auth = {"Authorization": f"Bearer {info['token']}"}
    assert service.client.get("/api/v1/batches", headers=auth).status_code == 200
    assert service.client.post("/api/v1/batches", headers=auth).status_code == 403
    listed = json.loads(sceau("token", "list", "--json").output)
    assert any(t["id"] == info["id"] for t in listed) and "token" not in listed[0]
    assert sceau("token", "revoke", info["id"]).exit_code == 0
    response = service.client.get("/api/v1/batches", headers=auth)
    assert response.status_code == 401 and "revoked" in response.get_json()["error"]


def test_uploads_can_be_fingerprinted_without_being_kept(chain: Chain, db_url: str, issuer: str, tmp_path: Any) -> None:
    from certifier.service.app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SCEAU_DATABASE_URL": db_url,
            "SCEAU_RPC_URL": chain.url,
            "SCEAU_STORAGE": str(tmp_path / "storage"),
            "SCEAU_KEEP_DOCUMENTS": "0",
        }
    )
    service = Service(app, app.test_client(), app.extensions["sceau"])
    content = pdf(7)
    response = upload(service, service.token(issuer), [("a.pdf", content)])
    assert response.status_code == 202
    assert response.get_json()["documents"][0]["sha256"] == hashlib.sha256(content).hexdigest()
    assert [p for p in (tmp_path / "storage").rglob("*") if p.is_file()] == []
    service.ctx.dispose()


def test_status_shows_the_queue_batches_in_flight_balances_and_last_error(
    service: Service, sceau: Any, issuer: str
) -> None:
    auth = service.token(issuer)
    service.client.post(
        "/api/v1/documents", json={"documents": [{"sha256": os.urandom(32).hex()} for _ in range(3)]}, headers=auth
    )
    shown = sceau("status", "--json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    mine = next(i for i in data["issuers"] if i["name"] == issuer)
    assert mine["pending"] == 3 and mine["balanceWei"] > 0 and mine["address"].startswith("0x")
    service.client.post("/api/v1/batches", headers=auth)
    shown = sceau("status", "--json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert any(b["issuer"] == issuer and b["status"] == "built" and b["documents"] == 3 for b in data["inFlight"])
    assert "lastError" in data
    shown = sceau("status")
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert issuer in text and "last error:" in text
    service.worker().run_until_idle()


def test_one_upload_may_bind_the_fields_it_prints_and_bad_fields_are_named(
    service: Service, chain: Chain, issuer: str
) -> None:
    auth = service.token(issuer)
    data = {"file": (io.BytesIO(b"%PDF-1.7 permis"), "p.pdf"), "fields": json.dumps({"holder": "Ana Lima"})}
    response = service.client.post("/api/v1/documents", data=data, headers=auth, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    bad = service.client.post(
        "/api/v1/documents",
        json={"documents": [{"sha256": "ab" * 32, "fields": {"holder": "", "bad name": "x"}}]},
        headers=auth,
    )
    assert bad.status_code == 400
    problems = json.dumps(bad.get_json())
    assert "documents[0].fields" in problems
    two = {
        "file": [(io.BytesIO(b"%PDF-1.7 a"), "a.pdf"), (io.BytesIO(b"%PDF-1.7 b"), "b.pdf")],
        "fields": json.dumps({"holder": "Ana Lima"}),
    }
    refused = service.client.post("/api/v1/documents", data=two, headers=auth, content_type="multipart/form-data")
    assert refused.status_code == 422 and "exactly one file" in json.dumps(refused.get_json())  # well-formed
