"""The OpenAPI document stays true: valid, covering exactly the routes served, and describing the
responses the service really gives."""

from __future__ import annotations

import os
from typing import Any

from openapi_spec_validator import validate

from certifier.service.contract import check_answer, spec_path
from certifier.service.openapi import SPEC
from tests.conftest import Service


def served_routes(app: Any) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            routes |= {(spec_path(rule.rule), m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def documented_routes() -> set[tuple[str, str]]:
    return {(path, method) for path, item in SPEC["paths"].items() for method in item}


def check(response: Any, path: str, method: str) -> None:
    check_answer(path, method, response.status_code, response.get_json())


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(SPEC)


def test_every_route_is_documented_and_every_documented_route_served(service: Service) -> None:
    assert served_routes(service.app) == documented_routes()


def test_served_document_is_the_spec(service: Service) -> None:
    assert service.client.get("/api/v1/openapi.json").get_json() == SPEC


def test_real_responses_match_their_schemas(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    r = service.client.post("/api/v1/documents", json={"documents": [{"sha256": os.urandom(32).hex()}]}, headers=auth)
    check(r, "/api/v1/documents", "post")
    doc_id = r.get_json()["documents"][0]["id"]
    check(service.client.post("/api/v1/documents", json={"documents": []}, headers=auth), "/api/v1/documents", "post")
    check(service.client.post("/api/v1/documents", json={}, headers={}), "/api/v1/documents", "post")
    check(service.client.get(f"/api/v1/documents/{doc_id}", headers=auth), "/api/v1/documents/{id}", "get")
    check(
        service.client.get(f"/api/v1/documents/{doc_id}/receipt", headers=auth), "/api/v1/documents/{id}/receipt", "get"
    )
    r = service.client.post("/api/v1/batches", headers=auth)
    check(r, "/api/v1/batches", "post")
    batch_id = r.get_json()["batches"][0]["id"]
    service.worker().run_until_idle()
    check(service.client.get(f"/api/v1/documents/{doc_id}", headers=auth), "/api/v1/documents/{id}", "get")
    check(service.client.get("/api/v1/batches", headers=auth), "/api/v1/batches", "get")
    check(service.client.get(f"/api/v1/batches/{batch_id}", headers=auth), "/api/v1/batches/{id}", "get")
    check(service.client.get("/api/v1/batches/nope", headers=auth), "/api/v1/batches/{id}", "get")
    r = service.client.post(f"/api/v1/documents/{doc_id}/revocation", json={"reason": "fraud"}, headers=auth)
    check(r, "/api/v1/documents/{id}/revocation", "post")
    r = service.client.post("/api/v1/revocations", json={"documents": [doc_id], "reason": "fraud"}, headers=auth)
    check(r, "/api/v1/revocations", "post")
    check(service.client.get("/api/v1/audit", headers=auth), "/api/v1/audit", "get")
    service.worker().run_until_idle()
    check(service.client.get(f"/api/v1/documents/{doc_id}", headers=auth), "/api/v1/documents/{id}", "get")
