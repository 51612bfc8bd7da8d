"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json. Tests check that every
route is described, that the document is valid, and that real responses match its schemas.

Long on purpose: it is one document, read top to bottom beside the routes it describes (api.py);
cut into modules it would be harder to keep true, not easier."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from certifier.service.validation import (
    DATE_PATTERN,
    DATE_TIME_PATTERN,
    FORM_FLAGS,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_AUDIT_ID,
    MAX_TIME,
    MIN_TIME,
)
from verifier.core.kinds import KINDS

bp = Blueprint("openapi", __name__)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_STATUS = ["pending", "anchoring", "anchored", "confirmed", "failed"]
#: Displayed fields (verifier.core.fields): the words a document prints, bound in its leaf.
_FIELDS = {
    "type": "object",
    "maxProperties": 16,
    "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]{0,31}$"},
    "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 200},
}
_TX_STATUS = ["built", "signed", "sent", "mined", "confirmed", "failed"]
_REASONS = ["fraud", "clerical_error", "annulment", "key_compromise", "superseded"]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


#: Free text as the API stores it: no control characters (validation.parse_text).
_TEXT = {"type": "string", "maxLength": 200, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"}
_DATE_STRING = {"type": "string", "pattern": DATE_PATTERN}
_DATE_TIME_STRING = {"type": "string", "pattern": DATE_TIME_PATTERN}
#: A date: ISO day, RFC 3339 date-time, or Unix seconds (JSON only); 1970 to 2199, else 422.
_DATE = {"oneOf": [_DATE_STRING, _DATE_TIME_STRING, {"type": "integer", "minimum": MIN_TIME, "maximum": MAX_TIME}]}
#: In a form, an empty field means "not given", as a browser sends it.
_BLANK = {"type": "string", "maxLength": 0}
_FORM_DATE = {"oneOf": [_DATE_STRING, _DATE_TIME_STRING, _BLANK]}
_FORM_KIND = {"enum": [*KINDS, ""]}
#: A yes/no form field (validation.parse_flag).
_FORM_FLAG = {"enum": list(FORM_FLAGS)}


_ERRORS = {
    "400": _json(_ref("Error"), "Invalid request: every problem is listed"),
    "401": _json(_ref("Error"), "Missing, unknown or revoked token"),
    "403": _json(_ref("Error"), "The token lacks the scope"),
}
_UNPROCESSABLE = {
    "422": _json(
        _ref("Error"),
        "Well-formed but unprocessable: a date out of 1970 to 2199, validUntil before validFrom, a kind this "
        "issuer is not accredited for, an empty file, a roster or archive whose content is refused",
    )
}
_UNAVAILABLE = {"503": _json(_ref("Error"), "The chain or the issuer's configuration is unavailable")}


def _linked(response: dict[str, Any], links: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """`response` with OpenAPI links: name → (operationId, runtime expression of its `id`)."""
    return {
        **response,
        "links": {name: {"operationId": op, "parameters": {"id": expr}} for name, (op, expr) in links.items()},
    }


_FIRST_DOCUMENT = "$response.body#/documents/0/id"
_DOCUMENT_LINKS = {
    "GetDocument": ("getDocument", _FIRST_DOCUMENT),
    "GetReceipt": ("getReceipt", _FIRST_DOCUMENT),
    "GetCertifiedPdf": ("getCertifiedPdf", _FIRST_DOCUMENT),
    "GetCredential": ("getCredential", _FIRST_DOCUMENT),
    "RevokeDocument": ("revokeDocument", _FIRST_DOCUMENT),
}
_BATCH_LINKS = {"GetBatch": ("getBatch", "$response.body#/batches/0/id")}
_NOT_FOUND = {"404": _json(_ref("Error"), "No such resource for this issuer")}
_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Sceau issuer API",
        "version": "1",
        "description": "Submit documents, anchor them in Merkle batches, fetch receipts, revoke.",
    },
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}, "problems": {"type": "array", "items": {"type": "string"}}},
            },
            "DocumentRef": {
                "type": "object",
                "required": ["id", "sha256", "status"],
                "properties": {
                    "id": {"type": "string"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "status": {"enum": _STATUS},
                },
            },
            "Batch": {
                "type": "object",
                "required": ["id", "root", "kind", "documentCount", "status"],
                "properties": {
                    "id": {"type": "string"},
                    "root": {"type": "string", "pattern": "^0x[0-9a-f]{64}$"},
                    "kind": {"type": "string"},
                    "documentCount": {
                        "type": "integer",
                        "description": "leaves in the batch: its documents, and their credentials when asked for",
                    },
                    "status": {"enum": _TX_STATUS},
                    "transactionHash": {"type": ["string", "null"]},
                    "blockNumber": {"type": ["integer", "null"]},
                    "createdAt": {"type": "number"},
                    "confirmedAt": {"type": ["number", "null"]},
                    "error": {"type": ["string", "null"]},
                },
            },
            "Document": {
                "type": "object",
                "required": ["id", "sha256", "status", "kind", "validFrom", "batch", "revocation"],
                "properties": {
                    "id": {"type": "string"},
                    "sha256": {"type": "string"},
                    "status": {"enum": _STATUS},
                    "kind": {"enum": list(KINDS)},
                    "validFrom": {"type": "integer"},
                    "validUntil": {"type": ["integer", "null"]},
                    "reference": {"type": ["string", "null"]},
                    "fields": {"oneOf": [_FIELDS, {"type": "null"}]},
                    "credential": {
                        "type": "boolean",
                        "description": "issued with a Verifiable Credential (GET /api/v1/documents/{id}/credential)",
                    },
                    "filename": {"type": ["string", "null"]},
                    "createdAt": {"type": "number"},
                    "failure": {"type": ["string", "null"]},
                    "batch": {"oneOf": [_ref("Batch"), {"type": "null"}]},
                    "revocation": {
                        "oneOf": [
                            {
                                "type": "object",
                                "required": ["id", "status", "reason"],
                                "properties": {
                                    "id": {"type": "string"},
                                    "status": {"enum": _TX_STATUS},
                                    "reason": {"enum": _REASONS},
                                    "transactionHash": {"type": ["string", "null"]},
                                },
                            },
                            {"type": "null"},
                        ]
                    },
                },
            },
            "NewDocuments": {
                "type": "object",
                "required": ["documents"],
                "additionalProperties": False,
                "properties": {
                    "documents": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["sha256"],
                            "additionalProperties": False,
                            "properties": {
                                "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                                "kind": {"enum": list(KINDS)},
                                "validFrom": _DATE,
                                "validUntil": _DATE,
                                "reference": _TEXT,
                                "fields": _FIELDS,
                                "credential": {
                                    "type": "boolean",
                                    "description": "also issue it as a Verifiable Credential (CREDENTIAL.md)",
                                },
                            },
                        },
                    }
                },
            },
            "Revocations": {
                "type": "object",
                "required": ["revocations"],
                "properties": {
                    "revocations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id", "status", "reason", "documents"],
                            "properties": {
                                "id": {"type": "string"},
                                "status": {"enum": _TX_STATUS},
                                "reason": {"enum": _REASONS},
                                "documents": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    }
                },
            },
            "RosterErrors": {
                "type": "object",
                "required": ["error", "problems"],
                "properties": {"error": {"type": "string"}, "problems": {"type": "array", "items": {"type": "string"}}},
            },
        },
    },
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
                        "schema": {"type": "string", "maxLength": 200, "pattern": IDEMPOTENCY_KEY_PATTERN},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ref("NewDocuments")},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "additionalProperties": False,
                                "properties": {
                                    "file": {
                                        "type": "array",
                                        "minItems": 1,
                                        "items": {"type": "string", "format": "binary"},
                                    },
                                    "kind": _FORM_KIND,
                                    "validFrom": _FORM_DATE,
                                    "validUntil": _FORM_DATE,
                                    "reference": {"type": "array", "items": _TEXT},
                                    "fields": {
                                        "type": "string",
                                        "description": "JSON object of displayed fields, with exactly one file",
                                    },
                                    "credential": {
                                        **_FORM_FLAG,
                                        "description": "1: also issue each file as a Verifiable Credential",
                                    },
                                },
                            }
                        },
                    },
                },
                "responses": {
                    "202": _linked(
                        _json(
                            {
                                "type": "object",
                                "required": ["documents"],
                                "properties": {"documents": {"type": "array", "items": _ref("DocumentRef")}},
                            },
                            "Accepted: committed, to be anchored",
                        ),
                        _DOCUMENT_LINKS,
                    ),
                    "409": _json(
                        _ref("Error"),
                        "Conflict: an Idempotency-Key in use, or credentials asked of an issuer that cannot give "
                        "them yet (not accredited, no credential key)",
                    ),
                    "413": _json(_ref("Error"), "Upload larger than the configured limit"),
                    "415": _json(_ref("Error"), "Unsupported media type"),
                    "422": _json(
                        _ref("Error"),
                        "Idempotency-Key reused for another request; or well-formed but unprocessable (a date out "
                        "of 1970 to 2199, validUntil before validFrom, a kind this issuer is not accredited for, "
                        "an empty file)",
                    ),
                    **_ERRORS,
                    **_UNAVAILABLE,
                },
            }
        },
        "/api/v1/documents/{id}": {
            "get": {
                "operationId": "getDocument",
                "summary": "A document's status",
                "parameters": _ID,
                "responses": {"200": _json(_ref("Document"), "The document"), **_ERRORS, **_NOT_FOUND},
            }
        },
        "/api/v1/documents/{id}/receipt": {
            "get": {
                "operationId": "getReceipt",
                "summary": "The receipt of a confirmed document (RECEIPT.md)",
                "parameters": _ID,
                "responses": {
                    "200": {
                        "description": "The receipt",
                        "content": {"application/vnd.sceau.receipt.v1+json": {"schema": {"type": "object"}}},
                    },
                    "409": _json(_ref("Error"), "Not confirmed yet"),
                    **_ERRORS,
                    **_NOT_FOUND,
                    **_UNAVAILABLE,
                },
            }
        },
        "/api/v1/documents/{id}/credential": {
            "get": {
                "operationId": "getCredential",
                "summary": "The W3C Verifiable Credential of a confirmed document submitted with credential: signed "
                "(eddsa-rdfc-2022), its own receipt embedded (CREDENTIAL.md)",
                "parameters": _ID,
                "responses": {
                    "200": {
                        "description": "The credential (application/vc unless application/vc+ld+json or "
                        "application/json is asked for)",
                        "content": {
                            media: {"schema": {"type": "object"}}
                            for media in ("application/vc", "application/vc+ld+json", "application/json")
                        },
                    },
                    "409": _json(_ref("Error"), "Not confirmed yet, or confirmed and its credential not signed yet"),
                    **_ERRORS,
                    "404": _json(_ref("Error"), "No such document for this issuer, or none issued with a credential"),
                    **_UNAVAILABLE,
                },
            }
        },
        "/api/v1/documents/{id}/certified.pdf": {
            "get": {
                "operationId": "getCertifiedPdf",
                "summary": "The certified copy of a confirmed PDF: original bytes, receipt attached, QR seal stamped",
                "parameters": _ID,
                "responses": {
                    "200": {"description": "The certified PDF", "content": {"application/pdf": {}}},
                    "409": _json(_ref("Error"), "Not confirmed, not a PDF, or its original is not kept"),
                    **_ERRORS,
                    **_NOT_FOUND,
                    **_UNAVAILABLE,
                },
            }
        },
        "/api/v1/documents/{id}/revocation": {
            "post": {
                "operationId": "revokeDocument",
                "summary": "Revoke one document",
                "parameters": _ID,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["reason"],
                                "additionalProperties": False,
                                "properties": {
                                    "reason": {"enum": _REASONS},
                                    "replacedBy": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(_ref("Revocations"), "Queued"),
                    "409": _json(_ref("Error"), "Not anchored, or already revoked"),
                    "422": _json(_ref("Error"), "replacedBy is not one of this issuer's batched documents"),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            }
        },
        "/api/v1/revocations": {
            "post": {
                "operationId": "revokeDocuments",
                "summary": "Revoke many documents (one transaction per batch)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["documents", "reason"],
                                "additionalProperties": False,
                                "properties": {
                                    "documents": {
                                        "type": "array",
                                        "minItems": 1,
                                        "maxItems": 10000,
                                        "items": {"type": "string"},
                                    },
                                    "reason": {"enum": _REASONS},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(_ref("Revocations"), "Queued"),
                    "409": _json(_ref("Error"), "Not anchored, or already revoked"),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            }
        },
        "/api/v1/batches": {
            "post": {
                "operationId": "anchorNow",
                "summary": "Anchor every pending document now",
                "responses": {
                    "202": _linked(
                        _json(
                            {"type": "object", "properties": {"batches": {"type": "array", "items": _ref("Batch")}}},
                            "Batches formed",
                        ),
                        _BATCH_LINKS,
                    ),
                    "200": _json(
                        {"type": "object", "properties": {"batches": {"type": "array", "items": _ref("Batch")}}},
                        "Nothing pending",
                    ),
                    **_ERRORS,
                },
            },
            "get": {
                "operationId": "listBatches",
                "summary": "The issuer's batches, newest first",
                "responses": {
                    "200": _linked(
                        _json(
                            {"type": "object", "properties": {"batches": {"type": "array", "items": _ref("Batch")}}},
                            "Batches",
                        ),
                        _BATCH_LINKS,
                    ),
                    **_ERRORS,
                },
            },
        },
        "/api/v1/batches/{id}": {
            "get": {
                "operationId": "getBatch",
                "summary": "One batch",
                "parameters": _ID,
                "responses": {"200": _json(_ref("Batch"), "The batch"), **_ERRORS, **_NOT_FOUND},
            }
        },
        "/api/v1/rosters": {
            "post": {
                "operationId": "issueRoster",
                "summary": "Issue a cohort: a CSV roster and a ZIP of its PDFs, validated whole, anchored as one batch",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["roster", "archive"],
                                "additionalProperties": False,
                                "properties": {
                                    "roster": {"type": "string", "format": "binary"},
                                    "archive": {"type": "string", "format": "binary"},
                                    "kind": _FORM_KIND,
                                    "validUntil": {"oneOf": [_DATE_STRING, _BLANK]},
                                    "credential": {
                                        **_FORM_FLAG,
                                        "description": "1: also issue each diploma as a Verifiable Credential",
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": _linked(
                        _json(
                            {
                                "type": "object",
                                "required": ["batch", "documents"],
                                "properties": {
                                    "batch": _ref("Batch"),
                                    "documents": {"type": "array", "items": _ref("DocumentRef")},
                                },
                            },
                            "Accepted as one batch",
                        ),
                        {**_DOCUMENT_LINKS, "GetBatch": ("getBatch", "$response.body#/batch/id")},
                    ),
                    "409": _json(_ref("Error"), "Conflict"),
                    "413": _json(_ref("Error"), "Upload larger than the configured limit"),
                    "415": _json(_ref("Error"), "Unsupported media type"),
                    **_UNPROCESSABLE,
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
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["entries"],
                            "properties": {
                                "entries": {
                                    "type": "array",
                                    "items": {"type": "object", "required": ["id", "at", "actor", "action"]},
                                },
                                "next": {"type": ["integer", "null"]},
                            },
                        },
                        "Entries, oldest first",
                    ),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/verify": {
            "post": {
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
                                            "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
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
                                    "file": {"type": "string", "format": "binary"},
                                    "receipt": {
                                        "type": "string",
                                        "format": "binary",
                                        "description": "The receipt file (may be left out for a certified PDF, "
                                        "which carries its own); whatever it holds gets a verdict, 200",
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
                                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                    "receipt": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                    "archive": {"type": "string", "format": "binary"},
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
                    "400": _json(_ref("Error"), "A part this endpoint does not take, or a bad format"),
                    "413": _json(_ref("Error"), "Upload larger than the limit"),
                    "422": _json(_ref("Error"), "Well-formed but unusable: nothing to verify, or not a ZIP"),
                    "429": _json(_ref("Error"), "Too many requests from this client"),
                    "503": _json(_ref("Error"), "The chain or the trust anchors are unavailable"),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
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
