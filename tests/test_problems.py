"""Refusals said once, in any language, and the API's shapes enforced from the OpenAPI document
itself (issue 9: one source for the HTTP contract; the console's roster problems in French)."""

from __future__ import annotations

import ast
import html
import io
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Response

from certifier.service.contract import check_response, operations
from certifier.service.openapi import SPEC
from certifier.service.problems import WORDS, Invalid, Problem, Problems, archive_entry, roster_line
from tests.conftest import Service
from tests.test_console import csrf, login
from tests.test_rosters import make_zip, post

ROOT = Path(__file__).resolve().parent.parent


def _codes_in_source() -> set[str]:
    """Every problem code the service's code names: the code argument of Problems.add/reject,
    Problem(...), InvalidFields(...), and the codes rosters.py's helpers return or raise."""
    found: set[str] = set()
    files = [*sorted((ROOT / "certifier").rglob("*.py")), ROOT / "verifier" / "core" / "fields.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("add", "reject", "Problem", "InvalidFields", "_TooBig") and len(node.args) >= 2:
                code = node.args[1]
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found.add(code.value)
        if path.name == "rosters.py":
            found |= set(re.findall(r'return "(zip_[a-z_]+)"', path.read_text()))
    return found


def test_every_problem_the_code_can_raise_has_words_in_both_languages() -> None:
    codes = _codes_in_source()
    assert {"required", "unknown_field", "zip_traversal", "field_empty", "duplicate", "upload_empty"} <= codes
    missing = sorted(c for c in codes if f"problem.{c}" not in WORDS)
    assert missing == []


def test_a_problem_is_said_where_it_is_in_each_language() -> None:
    p = Problems()
    p.reject(roster_line(4, "family_name"), "required")
    p.reject(archive_entry("../x.pdf"), "zip_traversal")
    p.add("documents[0].sha256", "invalid_sha256")
    refused = Invalid(p.found)
    assert refused.status == 400  # one malformed value makes the whole request malformed
    assert refused.say("en") == [
        "roster line 4 family_name: required",
        "archive entry '../x.pdf': refused: path traversal ('..')",
        "documents[0].sha256: must be 64 hex digits (the document's SHA-256)",
    ]
    assert refused.say("fr") == [
        "ligne 4 de la liste, family_name : obligatoire",
        "fichier « ../x.pdf » de l'archive : refusé : chemin qui sort de l'archive (« .. »)",
        "documents[0].sha256 : doit compter 64 chiffres hexadécimaux (le SHA-256 du document)",
    ]
    assert Invalid([Problem(roster_line(2), "no_rows", malformed=False)]).status == 422


def test_the_api_answers_every_problem_as_words_and_as_codes(service: Service, issuer: str) -> None:
    body = {"documents": [{"sha256": "ab" * 32, "validUntil": "2031-02-30", "colour": "red"}]}
    response = service.client.post("/api/v1/documents", json=body, headers=service.token(issuer))
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "2 problem(s) in the request",
        "problems": [
            "documents[0].colour: unknown field",
            "documents[0].validUntil: '2031-02-30' is not a day of the calendar",
        ],
        "details": [
            {"code": "unknown_field", "where": "documents[0].colour"},
            {"code": "not_in_calendar", "where": "documents[0].validUntil", "params": {"value": "'2031-02-30'"}},
        ],
    }


def test_every_operation_is_checked_against_the_schema_it_publishes() -> None:
    """The views name their operation; every one the API checks is in the document, with a body
    or parameters to check."""
    api = (ROOT / "certifier" / "service" / "api.py").read_text()
    checked = set(re.findall(r'check_request\(request, "(\w+)"', api))
    assert checked == {"submitDocuments", "revokeDocument", "revokeDocuments", "listBatches", "getAudit", "issueRoster"}
    for operation_id in checked:
        _path, _method, operation = operations()[operation_id]
        assert "requestBody" in operation or operation.get("parameters"), operation_id


def test_a_response_the_document_does_not_describe_is_caught(service: Service) -> None:
    with service.app.test_request_context("/api/v1/batches", method="GET"):
        from flask import request

        check_response(request, Response('{"batches": []}', mimetype="application/json"))  # as described
        with pytest.raises(AssertionError, match="differs from its schema"):
            check_response(request, Response('{"batches": [], "secret": 1}', mimetype="application/json"))
        with pytest.raises(AssertionError, match="not documented"):
            check_response(request, Response("{}", status=418, mimetype="application/json"))
    assert "details" in SPEC["components"]["schemas"]["Error"]["properties"]


def test_batches_come_a_page_at_a_time_newest_first(service: Service, issuer: str) -> None:
    auth = service.token(issuer)
    made = []
    for i in range(5):
        sha = f"{i:02x}" * 32
        assert service.client.post("/api/v1/documents", json={"documents": [{"sha256": sha}]}, headers=auth).status_code
        made.append(service.client.post("/api/v1/batches", headers=auth).get_json()["batches"][0]["id"])
    seen: list[str] = []
    url = "/api/v1/batches?limit=2"
    while True:
        page = service.client.get(url, headers=auth).get_json()
        assert len(page["batches"]) <= 2
        seen += [b["id"] for b in page["batches"]]
        if page["next"] is None:
            break
        url = f"/api/v1/batches?limit=2&before={page['next']}"
    assert seen == made[::-1]
    stranger = service.client.get("/api/v1/batches?before=" + "0" * 32, headers=auth)
    assert stranger.status_code == 422
    assert stranger.get_json()["details"] == [
        {"code": "invalid_page_token", "where": "before", "params": {"value": "'" + "0" * 32 + "'"}}
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_refused_roster_is_explained_in_the_registrars_language(service: Service, issuer: str, lang: str) -> None:
    client = login(service, issuer)
    home = client.get(f"/console/?lang={lang}").text
    roster = (
        "reference,family_name,given_names,degree,date,file\n"
        "R1,Martin,Lou,Licence,2026-07-01,one.pdf\n"
        "R1,,Jo,Licence,01/07/2026,one.pdf\n"
    )
    archive = make_zip({"one.pdf": b"%PDF 1", "stray.pdf": b"%PDF ?"})
    form: dict[str, Any] = {
        "roster": (io.BytesIO(roster.encode()), "roster.csv"),
        "archive": (io.BytesIO(archive), "pdfs.zip"),
        "csrf_token": csrf(home),
    }
    page = client.post("/console/rosters", data=form, content_type="multipart/form-data", follow_redirects=True)
    details = [html.unescape(d) for d in re.findall(r'<p class="flash detail">([^<]*)</p>', page.text)]
    words = {
        "fr": [
            "ligne 3 de la liste, family_name : obligatoire",
            "ligne 3 de la liste, date : '01/07/2026' n'est pas une date comme 2031-06-30",
            "ligne 3 de la liste, reference : « R1 » figure déjà ligne 2",
            "ligne 3 de la liste, file : « one.pdf » figure déjà ligne 2",
            "fichier « stray.pdf » de l'archive : absent de la liste",
        ],
        "en": [
            "roster line 3 family_name: required",
            "roster line 3 date: '01/07/2026' is not a date like 2031-06-30",
            "roster line 3 reference: 'R1' already on line 2",
            "roster line 3 file: 'one.pdf' already on line 2",
            "archive entry 'stray.pdf': not named in the roster",
        ],
    }
    assert details == words[lang]
    # the same roster through the API: the same problems, in English, with their codes
    api = post(service, service.token(issuer), roster.encode(), archive)
    assert api.status_code == 422 and api.get_json()["problems"] == words["en"]
