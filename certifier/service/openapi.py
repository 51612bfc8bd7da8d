"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json, built from the shapes in
schemas.py that requests are checked against (contract.py): what it says is what is enforced.
Tests check that the document is valid, that it describes exactly the routes served, and every
JSON response the test suite receives is checked against it (contract.check_response).

One document, read top to bottom beside the routes it describes (api.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from certifier.service.schemas import (
    ACCEPTED_DOCUMENTS,
    ACCEPTED_ROSTER,
    AUDIT,
    BATCHES,
    BINARY,
    COMPONENTS,
    DOCUMENT_FORM,
    IDEMPOTENCY_KEY,
    MAX_AUDIT_ID,
    MAX_PAGE,
    REVOKE_MANY,
    REVOKE_ONE,
    ROSTER_FORM,
    SHA256,
    ref,
)

bp = Blueprint("openapi", __name__)


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(ref("Error"), description)


def _body(**media: dict[str, Any]) -> dict[str, Any]:
    """A required request body: media type (``json``, ``form``) → schema."""
    names = {"json": "application/json", "form": "multipart/form-data"}
    return {"required": True, "content": {names[k]: {"schema": v} for k, v in media.items()}}


def _linked(response: dict[str, Any], links: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """`response` with OpenAPI links: name → (operationId, runtime expression of its `id`)."""
    return {
        **response,
        "links": {name: {"operationId": op, "parameters": {"id": expr}} for name, (op, expr) in links.items()},
    }


def _get(operation_id: str, summary: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A read of one resource by id, for a token with the read scope."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": _ID,
        "responses": {**responses, **_ERRORS, "404": _NOT_FOUND, **more},
    }


_ERRORS = {
    "400": _error("Invalid request: every problem is listed"),
    "401": _error("Missing, unknown or revoked token"),
    "403": _error("The token lacks the scope"),
}
_UNPROCESSABLE = _error(
    "Well-formed but unprocessable: a date out of 1970 to 2199, validUntil before validFrom, a kind this "
    "issuer is not accredited for, an empty file, a roster or archive whose content is refused"
)
_UNAVAILABLE = {"503": _error("The chain or the issuer's configuration is unavailable")}
_TOO_LARGE = _error("Upload larger than the configured limit")
_UNSUPPORTED = _error("Unsupported media type")
_NOT_FOUND = _error("No such resource for this issuer")
_NOT_REVOCABLE = _error("Not anchored, or already revoked")
_FIRST_DOCUMENT = "$response.body#/documents/0/id"
_DOCUMENT_LINKS = {
    "GetDocument": ("getDocument", _FIRST_DOCUMENT),
    "GetReceipt": ("getReceipt", _FIRST_DOCUMENT),
    "GetCertifiedPdf": ("getCertifiedPdf", _FIRST_DOCUMENT),
    "GetCredential": ("getCredential", _FIRST_DOCUMENT),
    "RevokeDocument": ("revokeDocument", _FIRST_DOCUMENT),
}
_BATCH_LINKS = {"GetBatch": ("getBatch", "$response.body#/batches/0/id")}
_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
_VERIFIER_ERRORS = {
    "413": _error("Larger than the limit"),
    "429": _error("Too many requests from this client"),
    "503": _error("The chain or the trust anchors are unavailable"),
}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Sceau issuer API",
        "version": "1",
        "description": "Submit documents, anchor them in Merkle batches, fetch receipts, revoke.",
    },
    "servers": [{"url": "/"}],
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": COMPONENTS},
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/documents": {
            "post": {
                "operationId": "submitDocuments",
                "summary": "Submit documents (files, or precomputed SHA-256 digests)",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "description": "Replays get the first answer; another request under the same key gets 422",
                        "schema": IDEMPOTENCY_KEY,
                    }
                ],
                "requestBody": _body(json=ref("NewDocuments"), form=DOCUMENT_FORM),
                "responses": {
                    "202": _linked(_json(ACCEPTED_DOCUMENTS, "Accepted: committed, to be anchored"), _DOCUMENT_LINKS),
                    "409": _error(
                        "Conflict: an Idempotency-Key in use, or credentials asked of an issuer that cannot give "
                        "them yet (not accredited, no credential key)"
                    ),
                    "413": _TOO_LARGE,
                    "415": _UNSUPPORTED,
                    "422": _error(
                        "Idempotency-Key reused for another request; or well-formed but unprocessable (a date out "
                        "of 1970 to 2199, validUntil before validFrom, a kind this issuer is not accredited for, "
                        "an empty file)"
                    ),
                    **_ERRORS,
                    **_UNAVAILABLE,
                },
            }
        },
        "/api/v1/documents/{id}": {
            "get": _get("getDocument", "A document's status", {"200": _json(ref("Document"), "The document")})
        },
        "/api/v1/documents/{id}/receipt": {
            "get": _get(
                "getReceipt",
                "The receipt of a confirmed document (RECEIPT.md)",
                {
                    "200": {
                        "description": "The receipt",
                        "content": {"application/vnd.sceau.receipt.v1+json": {"schema": {"type": "object"}}},
                    },
                    "409": _error("Not confirmed yet"),
                },
                **_UNAVAILABLE,
            )
        },
        "/api/v1/documents/{id}/credential": {
            "get": _get(
                "getCredential",
                "The W3C Verifiable Credential of a confirmed document submitted with credential: signed "
                "(eddsa-rdfc-2022), its own receipt embedded (CREDENTIAL.md)",
                {
                    "200": {
                        "description": "The credential (application/vc unless application/vc+ld+json or "
                        "application/json is asked for)",
                        "content": {
                            media: {"schema": {"type": "object"}}
                            for media in ("application/vc", "application/vc+ld+json", "application/json")
                        },
                    },
                    "409": _error("Not confirmed yet, or confirmed and its credential not signed yet"),
                },
                **_UNAVAILABLE,
                **{"404": _error("No such document for this issuer, or none issued with a credential")},
            )
        },
        "/api/v1/documents/{id}/certified.pdf": {
            "get": _get(
                "getCertifiedPdf",
                "The certified copy of a confirmed PDF: original bytes, receipt attached, QR seal stamped",
                {
                    "200": {"description": "The certified PDF", "content": {"application/pdf": {}}},
                    "409": _error("Not confirmed, not a PDF, or its original is not kept"),
                },
                **_UNAVAILABLE,
            )
        },
        "/api/v1/documents/{id}/revocation": {
            "post": {
                "operationId": "revokeDocument",
                "summary": "Revoke one document",
                "parameters": _ID,
                "requestBody": _body(json=REVOKE_ONE),
                "responses": {
                    "202": _json(ref("Revocations"), "Queued"),
                    "409": _NOT_REVOCABLE,
                    "415": _UNSUPPORTED,
                    "422": _error("replacedBy is not one of this issuer's batched documents"),
                    **_ERRORS,
                    "404": _NOT_FOUND,
                },
            }
        },
        "/api/v1/revocations": {
            "post": {
                "operationId": "revokeDocuments",
                "summary": "Revoke many documents (one transaction per batch)",
                "requestBody": _body(json=REVOKE_MANY),
                "responses": {
                    "202": _json(ref("Revocations"), "Queued"),
                    "409": _NOT_REVOCABLE,
                    "415": _UNSUPPORTED,
                    **_ERRORS,
                    "404": _NOT_FOUND,
                },
            }
        },
        "/api/v1/batches": {
            "post": {
                "operationId": "anchorNow",
                "summary": "Anchor every pending document now",
                "responses": {
                    "202": _linked(_json(BATCHES, "Batches formed"), _BATCH_LINKS),
                    "200": _json(BATCHES, "Nothing pending"),
                    **_ERRORS,
                },
            },
            "get": {
                "operationId": "listBatches",
                "summary": "The issuer's batches, newest first, a page at a time",
                "parameters": [
                    {
                        "name": "before",
                        "in": "query",
                        "description": "the `next` of the previous page",
                        "schema": {"title": "page_token", "type": "string", "pattern": "^[0-9a-f]{32}$"},
                    },
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
                ],
                "responses": {
                    "200": _linked(_json(BATCHES, "Batches"), _BATCH_LINKS),
                    "422": _error("`before` is not the `next` of one of this issuer's pages"),
                    **_ERRORS,
                },
            },
        },
        "/api/v1/batches/{id}": {"get": _get("getBatch", "One batch", {"200": _json(ref("Batch"), "The batch")})},
        "/api/v1/rosters": {
            "post": {
                "operationId": "issueRoster",
                "summary": "Issue a cohort: a CSV roster and a ZIP of its PDFs, validated whole, anchored as one batch",
                "requestBody": _body(form=ROSTER_FORM),
                "responses": {
                    "202": _linked(
                        _json(ACCEPTED_ROSTER, "Accepted as one batch"),
                        {**_DOCUMENT_LINKS, "GetBatch": ("getBatch", "$response.body#/batch/id")},
                    ),
                    "409": _error("Conflict"),
                    "413": _TOO_LARGE,
                    "415": _UNSUPPORTED,
                    "422": _UNPROCESSABLE,
                    **_ERRORS,
                    **_UNAVAILABLE,
                },
            }
        },
        "/api/v1/audit": {
            "get": {
                "operationId": "getAudit",
                "summary": "The append-only log of every action for this issuer",
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_AUDIT_ID},
                    },
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
                ],
                "responses": {"200": _json(AUDIT, "Entries, oldest first"), **_ERRORS},
            }
        },
        "/api/v1/verify": {
            "post": {
                "operationId": "verify",
                "summary": "Verify a document (or its SHA-256, as JSON) against its receipt and the chain",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {
                                        "type": "object",
                                        "required": ["sha256", "receipt"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "sha256": SHA256,
                                            "receipt": {
                                                "description": "The receipt (RECEIPT.md); a malformed one gets "
                                                "its verdict, 200"
                                            },
                                        },
                                    },
                                    {
                                        "type": "object",
                                        "required": ["@context"],
                                        "description": "A Verifiable Credential (CREDENTIAL.md), which carries its "
                                        "own receipt; whatever it holds gets a verdict, 200",
                                    },
                                ]
                            }
                        },
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file", "receipt"],
                                "additionalProperties": False,
                                "properties": {
                                    "file": BINARY,
                                    "receipt": {
                                        "contentMediaType": "application/octet-stream",
                                        "description": "The receipt file (may be left out for a certified PDF, "
                                        "which carries its own); whatever it holds, even nothing, gets a verdict, "
                                        "200: no content of it is malformed as a request",
                                    },
                                },
                            }
                        },
                    },
                },
                "responses": {
                    "200": _json({"type": "object", "required": ["verdict", "checks"]}, "The verdict"),
                    "400": _json({"type": "object"}, "Missing field"),
                    "413": _json({"type": "object"}, "Larger than a receipt can be"),
                    "422": _json({"type": "object"}, "Well-formed but unusable"),
                    "429": _json({"type": "object"}, "Too many requests from this client"),
                    "503": _json({"type": "object"}, "The chain or the trust anchors are unavailable"),
                },
            }
        },
        "/api/v1/verify/bulk": {
            "post": {
                "operationId": "verifyBulk",
                "summary": "Verify many documents at once (chain reads batched); one report",
                "security": [],
                "parameters": [{"name": "format", "in": "query", "schema": {"enum": ["json", "csv", "html"]}}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "file": {"type": "array", "items": BINARY},
                                    "receipt": {"type": "array", "items": BINARY},
                                    "archive": BINARY,
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "One line per document, in the format asked for",
                        "content": {
                            "application/json": {"schema": {"type": "object", "required": ["summary", "documents"]}},
                            "text/csv": {"schema": {"type": "string"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    "400": _error("A part this endpoint does not take, or a bad format"),
                    "422": _error("Well-formed but unusable: nothing to verify, or not a ZIP"),
                    **_VERIFIER_ERRORS,
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
    },
}


@bp.get("/api/v1/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(SPEC)
