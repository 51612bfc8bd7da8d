"""Chain reads with a stated freshness: every verdict names the block it rests on, a document is read
once per block, and issuer records change when the registry's events say so, not on a timer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from certifier.service.app import create_app
from tests.chainhelpers import advance
from tests.conftest import Chain, unique, write_docs


@pytest.fixture
def client(chain: Chain, tmp_path: Path) -> Iterator[Any]:
    app = create_app(
        {
            "TESTING": True,
            "SCEAU_RPC_URL": chain.url,
            "SCEAU_STORAGE": str(tmp_path / "s"),
            "SCEAU_FRESHNESS_SECONDS": "3600",  # hold the head: only a test's explicit refresh moves it
        }
    )
    yield app.test_client()
    app.extensions["sceau"].dispose()


def by_digest(client: Any, doc: Path) -> dict[str, Any]:
    receipt = json.loads(doc.with_name(doc.name + ".receipt.json").read_text())
    body = {"sha256": hashlib.sha256(doc.read_bytes()).hexdigest(), "receipt": receipt}
    answer: dict[str, Any] = client.post("/api/v1/verify", json=body).get_json()
    return answer


def test_a_verdict_names_its_block_and_one_document_is_read_once_per_block(
    chain: Chain, client: Any, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    [doc] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", issuer, doc).exit_code == 0
    first = by_digest(client, doc)
    head = chain.w3.eth.get_block("latest")
    assert first["verdict"] == "valid"
    assert first["block"] == {
        "number": head["number"],
        "hash": "0x" + bytes(head["hash"]).hex(),
        "timestamp": head["timestamp"],
    }
    reader = next(iter(client.application.extensions["sceau_verifier"]._readers.values()))
    calls: list[str] = []
    original = reader.rpc

    def counting(method: str, params: list[Any]) -> Any:
        calls.append(method)
        return original(method, params)

    reader.rpc = counting
    again = by_digest(client, doc)
    assert again["verdict"] == "valid" and again["block"] == first["block"]
    assert calls == []  # same block: nothing asked of the chain


def test_a_suspension_shows_at_the_next_block_not_after_a_timer(
    chain: Chain, client: Any, sceau: Any, tmp_path: Path
) -> None:
    name = unique("Université suspendue")
    assert sceau("issuer", "create", name, "--kind", "diploma").exit_code == 0
    [doc] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", name, doc).exit_code == 0
    assert by_digest(client, doc)["issuer"]["suspended"] is False
    now = advance(chain.w3, 5)
    iso = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sceau("issuer", "suspend", name, "--reason", "audit", "--since", iso).exit_code == 0
    verifier = client.application.extensions["sceau_verifier"]
    verifier.freshness = 0.0  # the next verification reads the new head
    after = by_digest(client, doc)
    assert after["verdict"] == "valid"  # anchored before the suspension: still valid
    assert after["issuer"]["suspended"] is True  # the event was seen: no stale record
    assert after["block"]["number"] > 0
