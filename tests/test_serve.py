"""The HTTP verification endpoint, through Flask's test client and through `sceau serve`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from certifier.service.app import create_app
from tests.conftest import ONLINE_CHECKS, Chain, free_port, write_docs


def post_verify(client: Any, doc: Path, receipt: Path | None) -> Any:
    data: dict[str, Any] = {"file": (doc.open("rb"), doc.name)}
    if receipt is not None:
        data["receipt"] = (receipt.open("rb"), receipt.name)
    return client.post("/api/v1/verify", data=data, content_type="multipart/form-data")


def test_post_verify_answers_the_cli_verdict_json(chain: Chain, sceau: Any, issuer: str, tmp_path: Path) -> None:
    docs = write_docs(tmp_path, 2)
    assert sceau("issue", "--issuer", issuer, *docs).exit_code == 0
    client = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url}).test_client()
    receipt = docs[0].with_name(docs[0].name + ".receipt.json")
    response = post_verify(client, docs[0], receipt)
    assert response.status_code == 200
    body = response.get_json()
    assert body["verdict"] == "valid" and body["issuer"]["name"] == issuer
    assert [c["id"] for c in body["checks"]] == ONLINE_CHECKS
    tampered = post_verify(client, docs[1], receipt).get_json()
    assert tampered["verdict"] == "tampered"


def test_post_verify_names_missing_fields(chain: Chain, tmp_path: Path) -> None:
    client = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url}).test_client()
    [doc] = write_docs(tmp_path, 1)
    response = post_verify(client, doc, None)
    assert response.status_code == 400 and "receipt" in response.get_json()["error"]
    response = client.post("/api/v1/verify", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "'file'" in response.get_json()["error"]


def test_malformed_receipt_is_an_error_verdict(chain: Chain, tmp_path: Path) -> None:
    client = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url}).test_client()
    [doc] = write_docs(tmp_path, 1)
    bad = tmp_path / "bad.json"
    bad.write_text('{"mediaType": "application/vnd.sceau.receipt.v1+json"')
    body = post_verify(client, doc, bad).get_json()
    assert body["verdict"] == "error" and "ends early" in body["error"]


def test_sceau_serve_runs_gunicorn_and_verifies(chain: Chain, sceau: Any, issuer: str, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", issuer, doc).exit_code == 0
    port = free_port()
    exe = Path(sys.executable).parent / "sceau"
    server = subprocess.Popen(
        [str(exe), "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).json()["status"] == "ok":
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "sceau serve did not start"
            time.sleep(0.1)
        receipt = doc.with_name(doc.name + ".receipt.json")
        with doc.open("rb") as f, receipt.open("rb") as r:
            response = requests.post(base + "/api/v1/verify", files={"file": f, "receipt": r}, timeout=10)
        assert response.json()["verdict"] == "valid"
    finally:
        server.terminate()
        server.wait(10)
        assert server.stderr is not None
        stderr = server.stderr.read().decode()
        server.stderr.close()
    assert "Booting worker" in stderr  # gunicorn, not the Flask development server


def test_verify_by_digest_as_json_keeps_the_document_local(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    import hashlib
    import json

    [doc] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", issuer, doc).exit_code == 0
    receipt = json.loads(doc.with_name(doc.name + ".receipt.json").read_text())
    client = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url}).test_client()
    digest = hashlib.sha256(doc.read_bytes()).hexdigest()
    body = client.post("/api/v1/verify", json={"sha256": digest, "receipt": receipt}).get_json()
    assert body["verdict"] == "valid" and body["document"]["sha256"] == digest
    other = client.post("/api/v1/verify", json={"sha256": "00" * 32, "receipt": receipt}).get_json()
    assert other["verdict"] == "tampered"
    bad = client.post("/api/v1/verify", json={"sha256": digest, "receipt": {**receipt, "extra": 1}}).get_json()
    assert bad["verdict"] == "error" and "unknown extra" in bad["error"]
    assert client.post("/api/v1/verify", json={"sha256": "xyz", "receipt": receipt}).status_code == 400


def test_make_run_s_demo_issuer_prints_a_token_the_service_accepts(chain: Chain, service: Any) -> None:
    """`make run` creates the demo issuer with scripts/demo_issuer.py (once: a second run reuses it)
    and prints a token; that token must open the API and the console's login."""
    import os
    import re

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "SCEAU_DATABASE_URL": str(service.app.config["SCEAU_DATABASE_URL"]), "PORT": "8611"}
    tokens = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, str(root / "scripts" / "demo_issuer.py")], capture_output=True, text=True, env=env
        )
        assert out.returncode == 0, out.stderr
        assert "demo issuer:   Université de Démonstration" in out.stdout
        found = re.search(r"^demo token:    (\S+)$", out.stdout, re.M)
        assert found is not None, out.stdout
        tokens.append(found.group(1))
    for token in tokens:
        answer = service.client.get("/api/v1/batches", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.get_json() == {"batches": [], "next": None}
