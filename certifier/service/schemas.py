"""The shapes of /api/v1, defined once: the OpenAPI document (openapi.py) is built from them, and
requests are checked against them (contract.py), so what the document says is what is enforced.

JSON Schema 2020-12, as OpenAPI 3.1 uses it. A sub-schema's ``title`` names the problem a value
failing it gets (problems.json: ``problem.invalid_<title>``), so that "must be 64 hex digits"
says more than "does not match a pattern".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from verifier.core.kinds import KINDS

#: ``YYYY-MM-DD``, or an RFC 3339 date-time (``2031-06-30T12:00:00Z``, offset optional).
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATE_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)
#: Dates are Unix seconds from 1970-01-01 to the end of 2199: a diploma dated before the epoch
#: cannot be anchored, one valid past 2199 is a typo, and both fit a signed 64-bit column.
MIN_TIME = 0
MAX_TIME = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp())
#: Idempotency-Key: visible ASCII, as stored (the column holds 200 characters).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"
MAX_TEXT = 200
MAX_FILENAME = 300
#: Audit entry ids are an INTEGER column: 32 bits on PostgreSQL.
MAX_AUDIT_ID = 2**31 - 1
MAX_REVOCATIONS = 10_000
MAX_PAGE = 1000
#: A yes/no form field (``credential``): what a checkbox or a script sends; empty means no.
FORM_FLAGS = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "no": False, "": False}

STATUSES = ["pending", "anchoring", "anchored", "confirmed", "failed"]
TX_STATUSES = ["built", "signed", "sent", "mined", "confirmed", "failed"]
REASONS = ["fraud", "clerical_error", "annulment", "key_compromise", "superseded"]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


SHA256 = {"title": "sha256", "type": "string", "pattern": "^[0-9a-fA-F]{64}$"}
#: Free text as the API stores it: no control characters, which some databases refuse
#: (PostgreSQL and NUL) and which no registrar means to send.
TEXT = {"title": "text", "type": "string", "maxLength": MAX_TEXT, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"}
#: Displayed fields (verifier.core.fields): the words a document prints, bound in its leaf.
FIELDS = {
    "type": "object",
    "maxProperties": 16,
    "propertyNames": {"title": "field_name", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,31}$"},
    "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 200},
}
DATE_STRING = {"type": "string", "pattern": DATE_PATTERN}
DATE_TIME_STRING = {"type": "string", "pattern": DATE_TIME_PATTERN}
#: A date: ISO day, RFC 3339 date-time, or Unix seconds (JSON only); 1970 to 2199, else 422.
DATE = {
    "title": "date",
    "oneOf": [
        DATE_STRING,
        DATE_TIME_STRING,
        {"title": "unix_time", "type": "integer", "minimum": MIN_TIME, "maximum": MAX_TIME},
    ],
}
#: In a form, an empty field means "not given", as a browser sends it.
BLANK = {"type": "string", "maxLength": 0}
FORM_DATE = {"title": "date", "oneOf": [DATE_STRING, DATE_TIME_STRING, BLANK]}
FORM_DAY = {"title": "day", "oneOf": [DATE_STRING, BLANK]}
KIND = {"enum": list(KINDS)}
FORM_KIND = {"enum": [*KINDS, ""]}
FORM_FLAG = {"enum": list(FORM_FLAGS)}
REASON = {"enum": REASONS}
DOCUMENT_ID = {"type": "string", "maxLength": 64}
BINARY = {"type": "string", "format": "binary"}
IDEMPOTENCY_KEY = {"title": "idempotency_key", "type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN}

# ---------------------------------------------------------------- requests

NEW_DOCUMENTS = {
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
                    "sha256": SHA256,
                    "kind": KIND,
                    "validFrom": DATE,
                    "validUntil": DATE,
                    "reference": TEXT,
                    "fields": FIELDS,
                    "credential": {
                        "type": "boolean",
                        "description": "also issue it as a Verifiable Credential (CREDENTIAL.md)",
                    },
                },
            },
        }
    },
}

DOCUMENT_FORM = {
    "type": "object",
    "required": ["file"],
    "additionalProperties": False,
    "properties": {
        "file": {"type": "array", "minItems": 1, "items": BINARY},
        "kind": FORM_KIND,
        "validFrom": FORM_DATE,
        "validUntil": FORM_DATE,
        "reference": {"type": "array", "items": TEXT},
        "fields": {"type": "string", "description": "JSON object of displayed fields, with exactly one file"},
        "credential": {**FORM_FLAG, "description": "1: also issue each file as a Verifiable Credential"},
    },
}

REVOKE_ONE = {
    "type": "object",
    "required": ["reason"],
    "additionalProperties": False,
    "properties": {"reason": REASON, "replacedBy": {"oneOf": [DOCUMENT_ID, {"type": "null"}]}},
}

REVOKE_MANY = {
    "type": "object",
    "required": ["documents", "reason"],
    "additionalProperties": False,
    "properties": {
        "documents": {"type": "array", "minItems": 1, "maxItems": MAX_REVOCATIONS, "items": DOCUMENT_ID},
        "reason": REASON,
    },
}

ROSTER_FORM = {
    "type": "object",
    "required": ["roster", "archive"],
    "additionalProperties": False,
    "properties": {
        "roster": {**BINARY, "description": "the CSV: reference, family_name, given_names, degree, date, file"},
        "archive": {**BINARY, "description": "the ZIP of the PDFs the roster names"},
        "kind": FORM_KIND,
        "validUntil": FORM_DAY,
        "credential": {**FORM_FLAG, "description": "1: also issue each diploma as a Verifiable Credential"},
    },
}

# ---------------------------------------------------------------- responses

ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "string"}, "description": "each as 'where: what', English"},
        "limit": {"type": "object", "description": "the bound a request exceeded (413, 429) and its value"},
        "details": {
            "type": "array",
            "description": "the same problems as codes (problems.json), for clients that say them otherwise",
            "items": {
                "type": "object",
                "required": ["code", "where"],
                "additionalProperties": False,
                "properties": {"code": {"type": "string"}, "where": {"type": "string"}, "params": {"type": "object"}},
            },
        },
    },
}

DOCUMENT_REF = {
    "type": "object",
    "required": ["id", "sha256", "status"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "status": {"enum": STATUSES},
    },
}

BATCH = {
    "type": "object",
    "required": ["id", "root", "kind", "documentCount", "status"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "root": {"type": "string", "pattern": "^0x[0-9a-f]{64}$"},
        "kind": {"enum": list(KINDS)},
        "documentCount": {
            "type": "integer",
            "description": "leaves in the batch: its documents, and their credentials when asked for",
        },
        "status": {"enum": TX_STATUSES},
        "transactionHash": {"type": ["string", "null"]},
        "blockNumber": {"type": ["integer", "null"]},
        "createdAt": {"type": "number"},
        "confirmedAt": {"type": ["number", "null"]},
        "error": {"type": ["string", "null"]},
    },
}

REVOCATION_REF = {
    "type": "object",
    "required": ["id", "status", "reason"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": TX_STATUSES},
        "reason": REASON,
        "transactionHash": {"type": ["string", "null"]},
    },
}

DOCUMENT = {
    "type": "object",
    "required": ["id", "sha256", "status", "kind", "validFrom", "batch", "revocation"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "status": {"enum": STATUSES},
        "kind": KIND,
        "validFrom": {"type": "integer"},
        "validUntil": {"type": ["integer", "null"]},
        "reference": {"type": ["string", "null"]},
        "fields": nullable(FIELDS),
        "credential": {
            "type": "boolean",
            "description": "issued with a Verifiable Credential (GET /api/v1/documents/{id}/credential)",
        },
        "filename": {"type": ["string", "null"]},
        "createdAt": {"type": "number"},
        "failure": {"type": ["string", "null"]},
        "batch": nullable(ref("Batch")),
        "revocation": nullable(REVOCATION_REF),
    },
}

REVOCATIONS = {
    "type": "object",
    "required": ["revocations"],
    "additionalProperties": False,
    "properties": {
        "revocations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "status", "reason", "documents"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "status": {"enum": TX_STATUSES},
                    "reason": REASON,
                    "documents": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}

ACCEPTED_DOCUMENTS = {
    "type": "object",
    "required": ["documents"],
    "additionalProperties": False,
    "properties": {"documents": {"type": "array", "items": ref("DocumentRef")}},
}

ACCEPTED_ROSTER = {
    "type": "object",
    "required": ["batch", "documents"],
    "additionalProperties": False,
    "properties": {"batch": ref("Batch"), "documents": {"type": "array", "items": ref("DocumentRef")}},
}

BATCHES = {
    "type": "object",
    "required": ["batches"],
    "additionalProperties": False,
    "properties": {
        "batches": {"type": "array", "items": ref("Batch")},
        "next": {"type": ["string", "null"], "description": "pass as ?before= for the next page; null: no more"},
    },
}

AUDIT = {
    "type": "object",
    "required": ["entries", "next"],
    "additionalProperties": False,
    "properties": {
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "at", "actor", "action"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "integer"},
                    "at": {"type": "number"},
                    "actor": {"type": "string"},
                    "action": {"type": "string"},
                    "subject": {"type": ["string", "null"]},
                    "detail": {},
                    "transactionHash": {"type": ["string", "null"]},
                },
            },
        },
        "next": {"type": ["integer", "null"], "description": "pass as ?after= for the next page; null: no more"},
    },
}

#: Named shapes, published under #/components/schemas.
COMPONENTS: dict[str, Any] = {
    "Error": ERROR,
    "DocumentRef": DOCUMENT_REF,
    "Batch": BATCH,
    "Document": DOCUMENT,
    "NewDocuments": NEW_DOCUMENTS,
    "Revocations": REVOCATIONS,
}
