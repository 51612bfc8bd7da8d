"""JSON-LD canonicalization (RDFC-1.0, via pyld) over contexts bundled with Sceau only.

The document loader serves the files of ``verifier/contexts`` by URL and refuses every other URL:
a credential is checked the same way in 2070, with no network, whatever the web then serves."""

from __future__ import annotations

import copy
import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

from pyld import jsonld  # type: ignore[import-untyped]
from pyld.context_resolver import ContextResolver  # type: ignore[import-untyped]

from verifier.credentials.errors import InvalidCredential, UnknownContext

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
SCEAU_V1 = "https://sceau.example/credentials/v1"

#: URL -> file in verifier/contexts (see its README for where each comes from).
BUNDLED: dict[str, str] = {
    VC_V2: "credentials-v2.jsonld",
    OB_V3: "ob-v3p0-context-3.0.3.json",
    SCEAU_V1: "sceau-credentials-v1.jsonld",
}


@cache
def context_document(url: str) -> dict[str, Any]:
    """The bundled context published at `url`; UnknownContext for any other URL."""
    name = BUNDLED.get(url)
    if name is None:
        raise UnknownContext(
            f"the JSON-LD context {url[:200]!r} is not one Sceau bundles ({', '.join(BUNDLED)}); "
            "contexts are never fetched"
        )
    data: dict[str, Any] = json.loads(
        resources.files("verifier.credentials").joinpath("contexts", name).read_text("utf-8")
    )
    return data


def load_document(url: str, options: Any = None) -> dict[str, Any]:
    """pyld's document loader: bundled contexts only (a fresh copy: pyld may annotate it)."""
    return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(context_document(url))}


class _Resolver(ContextResolver):  # type: ignore[misc]
    """pyld's resolver, with the cache of this module rather than pyld's process-wide one, so that
    a context another loader resolved under the same URL can never be used here."""


_CACHE: dict[str, Any] = {}


def canonical_nquads(document: dict[str, Any]) -> str:
    """The RDFC-1.0 canonical N-Quads of `document` (pyld's URDNA2015, which RDFC-1.0 standardised)."""
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": load_document,
        "contextResolver": _Resolver(_CACHE, load_document),
    }
    try:
        nquads: str = jsonld.normalize(document, options)
    except jsonld.JsonLdError as exc:
        cause: BaseException | None = exc
        while cause is not None:  # pyld wraps the loader's error several times over
            if isinstance(cause, UnknownContext):
                raise UnknownContext(str(cause)) from None
            cause = cause.__cause__ or getattr(cause, "cause", None)
        raise InvalidCredential(f"the credential is not valid JSON-LD: {_first_line(exc)}") from None
    return nquads


def nquads_sha256(document: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical_nquads(document).encode()).digest()


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else exc.__class__.__name__
