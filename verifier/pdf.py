"""Certified PDFs: the original bytes untouched, then one incremental update that adds only the
receipt as an attachment and the seal as a stamp annotation on the first page.

The verifier recovers the original (a byte prefix ending at one of the file's ``%%EOF`` markers,
found by its SHA-256) and refuses a file whose appended part changes what is shown: a "shadow
attack" that redefines a page's content, fonts or resources, adds or alters annotations, or adds
actions, forms or layers. Parsing is pypdf's; nothing here parses PDF syntax by hand except
finding the ``%%EOF`` markers that delimit increments.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from .receipt import Receipt

RECEIPT_NAME = "sceau-receipt.json"
SEAL_NAME = "sceau-seal"
_EOF = re.compile(rb"%%EOF[ \t]*(\r\n|\r|\n)?")
_PAGE_KEYS = (
    "/Contents",
    "/Resources",
    "/MediaBox",
    "/CropBox",
    "/BleedBox",
    "/TrimBox",
    "/ArtBox",
    "/Rotate",
    "/UserUnit",
    "/Group",
    "/AA",
    "/Annots",
)
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class CertifiedPdf:
    original: bytes | None  # None: no prefix of the file has the receipt's SHA-256
    receipt: Receipt
    problems: tuple[str, ...]  # what the appended part changes beyond the receipt and the seal


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-")


def open_certified(data: bytes) -> CertifiedPdf | None:
    """The certified parts of `data`, or None when it is not a certified PDF (a plain document)."""
    if not is_pdf(data):
        return None
    try:
        reader = PdfReader(BytesIO(data))
        attachments = reader.attachments
        raw = attachments.get(RECEIPT_NAME)
    except (PdfReadError, ValueError, KeyError, TypeError):
        return None
    if not raw:
        return None
    receipt = Receipt.from_json(raw[-1])
    original = None
    for match in _EOF.finditer(data):
        for end in {match.end(), match.start() + 5}:
            if end < len(data) and hashlib.sha256(data[:end]).digest() == receipt.document.sha256:
                original = data[:end]
                break
        if original is not None:
            break
    problems = tuple(increment_problems(original, data)) if original is not None else ()
    return CertifiedPdf(original, receipt, problems)


def increment_problems(original: bytes, final: bytes) -> list[str]:
    """Every visible or active difference between `original` and `final` other than the receipt
    attachment and the seal annotation."""
    try:
        before, after = PdfReader(BytesIO(original)), PdfReader(BytesIO(final))
        problems: list[str] = []
        if len(before.pages) != len(after.pages):
            return [f"the update changes the number of pages ({len(before.pages)} → {len(after.pages)})"]
        for n, (p0, p1) in enumerate(zip(before.pages, after.pages, strict=True), start=1):
            for key in _PAGE_KEYS:
                if key == "/Annots":
                    problems += _annotation_problems(n, p0.get("/Annots"), p1.get("/Annots"))
                elif _canon(p0.get(key)) != _canon(p1.get(key)):
                    problems.append(f"page {n}: the update changes {key[1:]}")
            inherited = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
            for key in inherited:
                if _canon(p0.get_inherited(key, None)) != _canon(p1.get_inherited(key, None)):
                    problems.append(f"page {n}: the update changes inherited {key[1:]}")
        c0: Any = before.trailer["/Root"].get_object()
        c1: Any = after.trailer["/Root"].get_object()
        for key in sorted(set(c0) | set(c1)):
            if key == "/Names":
                problems += _names_problems(c0.get("/Names"), c1.get("/Names"))
            elif key not in ("/Pages",) and _canon(c0.get(key)) != _canon(c1.get(key)):
                problems.append(f"the update changes the document's {key[1:]}")
        return problems
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return [f"the certified PDF cannot be compared with its original ({exc.__class__.__name__})"]


def _annotation_problems(page: int, a0: Any, a1: Any) -> list[str]:
    before = [_canon(a) for a in (a0.get_object() if a0 is not None else [])]
    after_objs = list(a1.get_object()) if a1 is not None else []
    after = [_canon(a) for a in after_objs]
    if after[: len(before)] != before:
        return [f"page {page}: the update changes existing annotations"]
    added = after_objs[len(before) :]
    if not added:
        return []
    if page != 1 or len(added) != 1:
        return [f"page {page}: the update adds annotations"]
    annot: Any = added[0].get_object()
    if annot.get("/Subtype") != "/Stamp" or annot.get("/NM") != SEAL_NAME or "/A" in annot or "/AA" in annot:
        return [f"page {page}: the update adds an annotation that is not Sceau's seal"]
    return []


def _names_problems(n0: Any, n1: Any) -> list[str]:
    d0 = n0.get_object() if n0 is not None else DictionaryObject()
    d1 = n1.get_object() if n1 is not None else DictionaryObject()
    problems = []
    for key in sorted(set(d0) | set(d1)):
        if key == "/EmbeddedFiles":
            names0 = _name_tree(d0.get(key))
            names1 = _name_tree(d1.get(key))
            extra = {k: v for k, v in names1.items() if k not in names0}
            if any(names1.get(k) != v for k, v in names0.items()) or set(extra) - {RECEIPT_NAME}:
                problems.append("the update changes attachments other than the receipt")
        elif _canon(d0.get(key)) != _canon(d1.get(key)):
            problems.append(f"the update changes the document's {key[1:]} names (scripts, destinations…)")
    return problems


def _name_tree(node: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node is None:
        return out
    node = node.get_object()
    names = node.get("/Names")
    if names is not None:
        items = list(names.get_object())
        for i in range(0, len(items) - 1, 2):
            out[str(items[i])] = _canon(items[i + 1])
    for kid in node.get("/Kids", []) or []:
        out.update(_name_tree(kid))
    return out


def _canon(obj: Any, seen: frozenset[int] = frozenset(), depth: int = 0) -> Any:
    """A comparable rendering of a PDF object with every reference resolved (streams decoded)."""
    if depth > 64:
        return "<deep>"
    if isinstance(obj, IndirectObject):
        if obj.idnum in seen:
            return ("<ref>", obj.idnum)
        return _canon(obj.get_object(), seen | {obj.idnum}, depth + 1)
    if isinstance(obj, StreamObject):
        try:
            data = obj.get_data()
        except Exception:  # undecodable: compare the raw bytes
            data = obj._data
        head = {
            k: _canon(v, seen, depth + 1) for k, v in obj.items() if k not in ("/Length", "/Filter", "/DecodeParms")
        }
        return ("<stream>", tuple(sorted(head.items())), hashlib.sha256(data).hexdigest())
    if isinstance(obj, DictionaryObject):
        return tuple(sorted((k, _canon(v, seen, depth + 1)) for k, v in obj.items() if k != "/Parent"))
    if isinstance(obj, ArrayObject | list):
        return tuple(_canon(v, seen, depth + 1) for v in obj)
    return repr(obj)
