"""Requests checked against the OpenAPI document itself (openapi.SPEC, built from schemas.py): the
shapes a view receives are the ones the document publishes, with no second copy of the rules.

`check_request` validates the operation's parameters (query, header) and its body (JSON, or a
multipart form read into the object its schema describes) and returns the body, or raises
`Invalid` with a 400 problem per failed rule. What a schema cannot say (a day that is not in the
calendar, a kind this issuer is not accredited for) is checked after, in validation.py, as 422s.
`check_response` checks an answer against the document too; the test suite runs it on every
response (app.testing), so the document cannot drift from what the service says.

jsonschema (the reference implementation of JSON Schema for Python, already what
openapi-spec-validator builds on) does the validating; this module only says which schema applies
and turns its errors into problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from flask import Request, Response
from jsonschema import Draft202012Validator, ValidationError

from certifier.service.openapi import SPEC
from certifier.service.problems import Problem, Problems, at

_INTEGER = re.compile(r"-?[0-9]{1,20}")


#: Validators by the identity of the schema they check (the schemas are SPEC's own objects, alive
#: as long as the process): building one costs more than most validations.
_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validate(schema: dict[str, Any], instance: Any) -> Iterator[ValidationError]:
    """Errors of `instance` against `schema`, whose ``#/components/…`` references are SPEC's."""
    held = _VALIDATORS.get(id(schema))
    if held is None or held[0] is not schema:
        held = (schema, Draft202012Validator({**schema, "components": SPEC["components"]}))
        _VALIDATORS[id(schema)] = held
    return held[1].iter_errors(instance)


@cache
def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId → (path, method, operation)."""
    return {
        op["operationId"]: (path, method, op) for path, item in SPEC["paths"].items() for method, op in item.items()
    }


def _place(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def problems_of(error: ValidationError, base: str = "") -> Iterator[Problem]:
    """The problems one jsonschema error stands for, located at `base` + its path."""
    where = _join(base, _place(error.absolute_path)) if error.absolute_path else base
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword = error.validator
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        known = set(schema.get("properties", {}))
        for name in sorted(set(error.instance) - known):
            yield Problem(at(_join(where, str(name)[:40])), "unknown_field")
        return
    if keyword == "required" and isinstance(error.instance, dict):
        for name in schema.get("required", []):
            if name not in error.instance:
                yield Problem(at(_join(where, name)), "required")
        return
    if keyword in ("oneOf", "anyOf"):  # one branch has the value's type: its error says the most
        typed = [e for e in error.context or () if e.validator != "type"]
        if len(typed) == 1:
            yield from problems_of(typed[0], base)
            return
    title = schema.get("title")
    if title and keyword in ("pattern", "oneOf", "anyOf", "minimum", "maximum"):
        params = {"value": _shown(error.instance)}
        params.update({k: schema[v] for k, v in (("low", "minimum"), ("high", "maximum")) if v in schema})
        yield Problem(at(where), f"invalid_{title}", params)
        return
    yield Problem(at(where), *_generic(keyword, schema, error))


def _shown(value: Any) -> str:
    return repr(value)[:40] if not isinstance(value, str) else repr(value[:40])


_TYPES = {"string": "a_string", "object": "an_object", "array": "a_list", "integer": "an_integer", "boolean": "boolean"}


def _generic(keyword: Any, schema: dict[str, Any], error: ValidationError) -> tuple[str, dict[str, Any]]:
    if keyword == "type":
        wanted = schema["type"] if isinstance(schema["type"], str) else next(t for t in schema["type"] if t != "null")
        return f"type_{_TYPES.get(wanted, 'a_string')}", {}
    if keyword == "enum":
        return "enum", {"allowed": ", ".join(repr(v) for v in schema["enum"] if v != "")}
    if keyword in ("minimum", "maximum"):
        return "out_of_range", {"low": schema.get("minimum", "…"), "high": schema.get("maximum", "…")}
    if keyword in ("maxLength", "minLength", "maxItems", "minItems", "maxProperties"):
        limit = schema[keyword]
        if keyword in ("minLength", "minItems") and limit == 1:
            return "empty", {}
        return {"maxLength": "too_long", "minLength": "too_short", "maxItems": "too_many", "minItems": "too_few"}.get(
            keyword, "too_many_fields"
        ), {"limit": limit}
    return "invalid", {"rule": str(keyword)}


def _form(request: Request, schema: dict[str, Any], problems: Problems) -> dict[str, Any]:
    """A multipart form as the object its schema describes: a field the schema makes a list is
    every value sent under its name; any other, sent more than once, is a problem."""
    properties = schema.get("properties", {})
    out: dict[str, Any] = {}
    for source in (request.form, request.files):
        for name in source:
            values = source.getlist(name)
            if (properties.get(name) or {}).get("type") == "array":
                out[name] = [v if isinstance(v, str) else "" for v in values]
            else:
                if len(values) > 1:
                    problems.add(name[:40], "given_twice")
                out[name] = values[0] if isinstance(values[0], str) else ""
    return out


def _parameters(request: Request, operation: dict[str, Any], problems: Problems) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            raw = request.args.get(parameter["name"])
        elif parameter["in"] == "header":
            raw = request.headers.get(parameter["name"])
        else:
            continue
        if raw is None:
            continue
        schema = parameter["schema"]
        value: Any = int(raw) if schema.get("type") == "integer" and _INTEGER.fullmatch(raw) else raw
        for error in _validate(schema, value):
            problems.found.extend(problems_of(error, parameter["name"]))


def check_request(request: Request, operation_id: str, problems: Problems | None = None) -> Any:
    """The request's body (JSON value, or form as an object; None without a body) once its shape
    is what the operation's schema says; else Invalid (400) with every problem found. Given
    `problems`, adds to it instead of raising, so that the view can add what the values say too
    (skipping those already refused: `Problems.paths`) and refuse the request with all of them."""
    _path, _method, operation = operations()[operation_id]
    deferred = problems is not None
    problems = problems if problems is not None else Problems()
    _parameters(request, operation, problems)
    content = operation.get("requestBody", {}).get("content", {})
    body: Any = None
    if request.mimetype == "application/json" and "application/json" in content:
        body = request.get_json(silent=True)
        if body is None:
            problems.add("body", "not_json")
        else:
            for error in _validate(content["application/json"]["schema"], body):
                problems.found.extend(problems_of(error))
    elif request.mimetype == "multipart/form-data" and "multipart/form-data" in content:
        schema = content["multipart/form-data"]["schema"]
        body = _form(request, schema, problems)
        for error in _validate(schema, body):
            problems.found.extend(problems_of(error))
    if not deferred:
        problems.raise_if_any()
    return body


def spec_path(rule: str) -> str:
    """The OpenAPI path of a Flask route (``/api/v1/documents/<doc_id>`` → ``…/{id}``)."""
    return re.sub(r"<(?:\w+:)?\w+>", "{id}", rule)


def check_response(request: Request, response: Response) -> None:
    """Raise AssertionError when a JSON answer is not one the document describes for the route,
    the status and the media type (the test suite runs this on every response)."""
    rule = request.url_rule
    if rule is None or not rule.rule.startswith("/api/v1") or response.mimetype != "application/json":
        return
    path = spec_path(rule.rule)
    if request.method.lower() in SPEC["paths"].get(path, {}):
        check_answer(path, request.method.lower(), response.status_code, response.get_json())


def check_answer(path: str, method: str, status: int, body: Any) -> None:
    """Raise AssertionError unless `body` is the JSON the document describes for `status` of the
    operation at `path` and `method`."""
    described = SPEC["paths"][path][method]["responses"].get(str(status))
    assert described is not None, f"{method.upper()} {path} answered {status}, not documented"
    schema = described.get("content", {}).get("application/json", {}).get("schema")
    assert schema is not None, f"{method.upper()} {path} {status}: JSON not documented"
    errors = [e.message for e in _validate(schema, body)]
    assert not errors, f"{method.upper()} {path} {status} differs from its schema: {errors[:3]}"
