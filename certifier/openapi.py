"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json. Tests check that every
route is described, that the document is valid, and that real responses match its schemas."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from verifier.kinds import KINDS

bp = Blueprint("openapi", __name__)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_STATUS = ["pending", "anchoring", "anchored", "confirmed", "failed"]
#: Displayed fields (verifier.fields): the words a document prints, bound in its leaf.
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


_ERRORS = {
    "400": _json(_ref("Error"), "Invalid request: every problem is listed"),
    "401": _json(_ref("Error"), "Missing, unknown or revoked token"),
    "403": _json(_ref("Error"), "The token lacks the scope"),
}
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
                    "documentCount": {"type": "integer"},
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
                                "validFrom": {"type": ["string", "integer"]},
                                "validUntil": {"type": ["string", "integer"]},
                                "reference": {"type": "string", "maxLength": 200},
                                "fields": _FIELDS,
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
                "summary": "Submit documents (files, or precomputed SHA-256 digests)",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ref("NewDocuments")},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                    "kind": {"enum": list(KINDS)},
                                    "validFrom": {"type": "string"},
                                    "validUntil": {"type": "string"},
                                    "reference": {"type": "array", "items": {"type": "string"}},
                                    "fields": {
                                        "type": "string",
                                        "description": "JSON object of displayed fields, with exactly one file",
                                    },
                                },
                            }
                        },
                    },
                },
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "required": ["documents"],
                            "properties": {"documents": {"type": "array", "items": _ref("DocumentRef")}},
                        },
                        "Accepted: committed, to be anchored",
                    ),
                    "409": _json(_ref("Error"), "Conflict"),
                    "413": _json(_ref("Error"), "Upload larger than the configured limit"),
                    "415": _json(_ref("Error"), "Unsupported media type"),
                    "422": _json(_ref("Error"), "Idempotency-Key reused for another request"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/documents/{id}": {
            "get": {
                "summary": "A document's status",
                "parameters": _ID,
                "responses": {"200": _json(_ref("Document"), "The document"), **_ERRORS, **_NOT_FOUND},
            }
        },
        "/api/v1/documents/{id}/receipt": {
            "get": {
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
                },
            }
        },
        "/api/v1/documents/{id}/certified.pdf": {
            "get": {
                "summary": "The certified copy of a confirmed PDF: original bytes, receipt attached, QR seal stamped",
                "parameters": _ID,
                "responses": {
                    "200": {"description": "The certified PDF", "content": {"application/pdf": {}}},
                    "409": _json(_ref("Error"), "Not confirmed, not a PDF, or its original is not kept"),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            }
        },
        "/api/v1/documents/{id}/revocation": {
            "post": {
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
                                "properties": {"reason": {"enum": _REASONS}, "replacedBy": {"type": "string"}},
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
        "/api/v1/revocations": {
            "post": {
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
                                    "documents": {"type": "array", "items": {"type": "string"}},
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
                },
            }
        },
        "/api/v1/batches": {
            "post": {
                "summary": "Anchor every pending document now",
                "responses": {
                    "202": _json(
                        {"type": "object", "properties": {"batches": {"type": "array", "items": _ref("Batch")}}},
                        "Batches formed",
                    ),
                    "200": _json(
                        {"type": "object", "properties": {"batches": {"type": "array", "items": _ref("Batch")}}},
                        "Nothing pending",
                    ),
                    **_ERRORS,
                },
            },
            "get": {
                "summary": "The issuer's batches, newest first",
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"batches": {"type": "array", "items": _ref("Batch")}}},
                        "Batches",
                    ),
                    **_ERRORS,
                },
            },
        },
        "/api/v1/batches/{id}": {
            "get": {
                "summary": "One batch",
                "parameters": _ID,
                "responses": {"200": _json(_ref("Batch"), "The batch"), **_ERRORS, **_NOT_FOUND},
            }
        },
        "/api/v1/rosters": {
            "post": {
                "summary": "Issue a cohort: a CSV roster and a ZIP of its PDFs, validated whole, anchored as one batch",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["roster", "archive"],
                                "properties": {
                                    "roster": {"type": "string", "format": "binary"},
                                    "archive": {"type": "string", "format": "binary"},
                                    "kind": {"enum": list(KINDS)},
                                    "validUntil": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(
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
                    "413": _json(_ref("Error"), "Upload larger than the configured limit"),
                    **_ERRORS,
                },
            }
        },
        "/api/v1/audit": {
            "get": {
                "summary": "The append-only log of every action for this issuer",
                "parameters": [
                    {"name": "after", "in": "query", "schema": {"type": "integer"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}},
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
                                "type": "object",
                                "required": ["sha256", "receipt"],
                                "additionalProperties": False,
                                "properties": {"sha256": {"type": "string"}, "receipt": {"type": "object"}},
                            }
                        },
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file", "receipt"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "receipt": {"type": "string", "format": "binary"},
                                },
                            }
                        },
                    },
                },
                "responses": {
                    "200": _json({"type": "object", "required": ["verdict", "checks"]}, "The verdict"),
                    "400": _json({"type": "object"}, "Missing field"),
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
                    "200": _json({"type": "object", "required": ["summary", "documents"]}, "One line per document"),
                    "400": _json(_ref("Error"), "Nothing to verify, or a bad archive"),
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
