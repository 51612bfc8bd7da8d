"""Certified PDFs: the original bytes untouched, then exactly one incremental update, the one
Sceau writes: the receipt as an attachment and the seal as a stamp annotation on the first page.

The verifier recovers the original (the byte prefix whose SHA-256 the receipt certifies, found
at one of the file's ``%%EOF`` markers) and accepts only one further update, ending the file, in
which Sceau's seal is re-derived and compared: its rectangle is one of Sceau's positions, its
appearance is exactly the QR drawing of the seal text the annotation carries. Anything after that
update means the file was changed after certification; anything in it that changes what is shown
(a "shadow attack" on contents, fonts, resources, annotations, actions, forms or layers) is
refused. Parsing is pypdf's; nothing here parses PDF syntax by hand except finding the ``%%EOF``
and ``startxref`` keywords that delimit updates.

Why one module of this size: the checks are one security argument (what is accepted, and why
nothing else is), read and reviewed together; split, a reviewer would lose the whole.
"""

from __future__ import annotations

import hashlib
import logging
import re
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import segno
from pypdf import PdfReader, apply_configuration
from pypdf._utils import read_non_whitespace
from pypdf.errors import DependencyError, LimitReachedError, PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject, read_object

from verifier import limits
from verifier.core.errors import LimitExceeded
from verifier.core.receipt import Receipt
from verifier.sniff import is_pdf

RECEIPT_NAME = "sceau-receipt.json"
SEAL_NAME = "sceau-seal"
SEAL_TEXT_KEY = "/SceauSeal"  # private annotation key: the (ASCII) seal text the QR encodes, as a hex string
SEAL_CONTENTS = "Sceau seal: scan to verify / scanner pour vérifier"
SEAL_SIZE = 96.0  # points: the seal's width and height
SEAL_MARGIN = 24.0  # points between the seal and the page's edges
SEAL_FLAGS = 4 | 128  # print, locked
SEAL_POSITIONS = ("bottom-right", "bottom-left", "top-right", "top-left")
MAX_SEAL_TEXT = 4096  # characters; a QR code holds less
CHANGED_AFTER = "the file was changed after Sceau certified it"
MAX_CANDIDATES = 100_000  # prefix ends tried when looking for the original: linear time, bounded
TAIL_WINDOW = 128  # bytes after a %%EOF marker in which an original may still end (stray lines)

_EOF = re.compile(rb"%%EOF")
_EOL = re.compile(rb"[\r\n]")
_WHITESPACE = b"\x00\t\n\x0c\r "
_SEAL_KEYS = {"/Type", "/Subtype", "/Rect", "/NM", "/Contents", "/F", "/AP", "/P", SEAL_TEXT_KEY}
_APPEARANCE_KEYS = {"/Type", "/Subtype", "/BBox", "/Length", "/Filter"}
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
# What a hostile or broken file makes pypdf raise: the file is then unreadable, never a crash.
# pypdf's LimitReachedError is not among them: it becomes LimitExceeded (see _bounded).
_READ_ERRORS = (
    PdfReadError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    RecursionError,
    AssertionError,
    ArithmeticError,
    NotImplementedError,
    DependencyError,
    zlib.error,
    struct.error,
)
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class CertifiedPdf:
    original: bytes | None  # None: no prefix of the file has the receipt's SHA-256
    receipt: Receipt
    problems: tuple[str, ...]  # how the file differs from the original plus Sceau's update
    seal_text: str | None = None  # the text the seal's QR encodes, when the seal is Sceau's


def seal_rect(box: Any, position: str, size: float = SEAL_SIZE) -> tuple[float, float, float, float]:
    """Where Sceau puts its seal on a page whose media box is `box`: shared by writer and checker."""
    left = float(box.left) + SEAL_MARGIN if position.endswith("left") else float(box.right) - SEAL_MARGIN - size
    bottom = float(box.bottom) + SEAL_MARGIN if position.startswith("bottom") else float(box.top) - SEAL_MARGIN - size
    return (left, bottom, left + size, bottom + size)


def qr_drawing(text: str, size: float) -> bytes:
    """PDF drawing operators for the QR code of `text`, `size` points wide, quiet zone included.

    Frozen: the verifier redraws the seal and compares it byte for byte with what the PDF shows."""
    qr = segno.make(text, error="m", micro=False)
    matrix = [list(row) for row in qr.matrix]
    modules = len(matrix) + 8  # four modules of quiet zone on each side
    unit = size / modules
    ops = [b"q 1 1 1 rg 0 0 %.3f %.3f re f 0 0 0 rg" % (size, size)]
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):  # one rectangle per horizontal run of dark modules
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                px, py = (start + 4) * unit, size - (y + 5) * unit
                ops.append(b"%.3f %.3f %.3f %.3f re" % (px, py, (x - start) * unit, unit))
            else:
                x += 1
    ops.append(b"f Q")
    return b"\n".join(ops)


def open_certified(data: bytes) -> CertifiedPdf | None:
    """The certified parts of `data`, or None when it is not a certified PDF (a plain document).
    Raises LimitExceeded when reading it would decode more than the bounds in force allow."""
    if not is_pdf(data):
        return None
    with _bounded():
        return _open_certified(data)


def _open_certified(data: bytes) -> CertifiedPdf | None:
    try:
        reader = PdfReader(BytesIO(data))
        attachments = reader.attachments
        raw = attachments.get(RECEIPT_NAME)
    except _READ_ERRORS:
        return None
    if not raw:
        return None
    receipt = Receipt.from_json(raw[-1])
    end = original_end(data, receipt.document.sha256)
    if end is None:
        return CertifiedPdf(None, receipt, ())
    problems, seal_text = _inspect(data[:end], data)
    if len(raw) != 1:  # a verifier taking the first would judge another receipt than one taking the last
        problems, seal_text = [*problems, f"{CHANGED_AFTER}: {len(raw)} receipts are attached"], None
    return CertifiedPdf(data[:end], receipt, tuple(problems), seal_text)


def original_end(data: bytes, sha256: bytes) -> int | None:
    """The length of the prefix of `data` whose SHA-256 is `sha256`, ending at a ``%%EOF`` marker
    or on a line in the few bytes after it, or None. One running hash, copied at each candidate
    end: linear in the file's size, and at most MAX_CANDIDATES digests."""
    running = hashlib.sha256()
    hashed = 0
    for tried, end in enumerate(_candidate_ends(data)):
        if tried >= MAX_CANDIDATES:
            return None
        running.update(memoryview(data)[hashed:end])
        hashed = end
        if running.copy().digest() == sha256:
            return end
    return None


def _candidate_ends(data: bytes) -> Iterator[int]:
    """Increasing positions where an original may end: right after each ``%%EOF``, and on either
    side of each line break within TAIL_WINDOW bytes after it (line ends, stray lines), never at
    the end of `data` (Sceau's update follows the original)."""
    last = -1
    for match in _EOF.finditer(data):
        limit = min(match.end() + TAIL_WINDOW, len(data) - 1)
        nxt = data.find(b"%%EOF", match.end(), limit)
        limit = nxt if nxt != -1 else limit
        ends = [match.end()]
        for eol in _EOL.finditer(data, match.end(), limit):
            ends += [eol.start(), eol.end()]
        for end in ends:
            if last < end < len(data):
                last = end
                yield end


def increment_problems(original: bytes, final: bytes) -> list[str]:
    """Every way `final` differs from `original` followed by the one update Sceau writes."""
    with _bounded():
        return _inspect(original, final)[0]


@contextmanager
def _bounded() -> Iterator[None]:
    """The bounds in force (verifier/limits.py) for reading one file: pypdf's own per-stream caps
    set to SCEAU_MAX_STREAM_BYTES, its LimitReachedError told as LimitExceeded, and a budget of
    decoded bytes for the whole file (streams are decoded twice: in the original and in the copy)."""
    bounds = limits.current()
    cap = bounds.max_stream_bytes
    pypdf_caps = {
        name: cap
        for name in (
            "zlib_maximum_output_length",
            "lzw_maximum_output_length",
            "run_length_maximum_output_length",
            "brotli_maximum_output_length",
            "jbig2_maximum_output_length",
            "array_based_stream_maximum_output_length",
            "image_maximum_buffer_size",
        )
    }
    try:
        with (
            apply_configuration(None, **pypdf_caps, stream_decoding_work_maximum_length=4 * cap),
            limits.budget("SCEAU_MAX_PDF_DECODED_BYTES", bounds.max_pdf_decoded_bytes, "the PDF's decoded content"),
        ):
            token = _DIGESTS.set({})
            try:
                yield
            finally:
                _DIGESTS.reset(token)
    except LimitReachedError as exc:
        raise LimitExceeded(
            f"the PDF has a stream or structure larger than this verifier reads ({exc}; a stream may decode "
            f"to at most {cap:,} bytes: SCEAU_MAX_STREAM_BYTES)",
            setting="SCEAU_MAX_STREAM_BYTES",
            limit=cap,
        ) from None


def _inspect(original: bytes, final: bytes) -> tuple[list[str], str | None]:
    """The problems of `final` as a certified copy of `original`, and the seal text it carries."""
    # (1) exactly one update after the original, ending the file; if not, what the rest changes
    # is still told, after the verdict
    one_update = _one_update(final[len(original) :])
    problems = [] if one_update else [CHANGED_AFTER]
    try:
        before, after = PdfReader(BytesIO(original)), PdfReader(BytesIO(final))
        # (2) the update says one thing to every reader: no duplicated key, which pypdf would read
        # first-wins and other viewers last-wins (a forged page shown, a genuine one checked)
        ambiguous = _ambiguity_problems(final, len(original))
        if ambiguous:
            return [*problems, *ambiguous], None
        # (3) nothing shown or run differs but for the seal; nothing else of the original redefined
        problems += _shown_problems(before, after)
        if one_update:
            problems += _redefinition_problems(before, after)
        # (4) the seal is the one Sceau draws, where Sceau puts it
        seal_problems, seal_text = _seal_problems(before, after)
        problems += seal_problems
        return problems, (seal_text if not problems else None)
    except _READ_ERRORS as exc:
        return [*problems, f"the certified PDF cannot be compared with its original ({exc.__class__.__name__})"], None


_OBJ = re.compile(rb"(?<![0-9])([0-9]{1,10})[\x00\t\n\x0c\r ]+([0-9]{1,5})[\x00\t\n\x0c\r ]+obj(?![A-Za-z])")


def _ambiguity_problems(final: bytes, start: int) -> list[str]:
    """Every object and trailer after byte `start`, parsed strictly: a dictionary defining a key
    twice is refused. pypdf keeps the first definition, qpdf, pdf.js and PDFium the last, so such a
    file shows one thing and proves another."""
    reader = PdfReader(BytesIO(final))
    reader.strict = True  # set after opening: the original part may be sloppy, the update may not
    stream = BytesIO(final)
    try:
        for match in _OBJ.finditer(final, start):
            stream.seek(match.end())
            read_non_whitespace(stream)
            stream.seek(-1, 1)
            read_object(stream, reader)
        trailer = final.find(b"trailer", start)
        if trailer != -1:
            stream.seek(trailer + len(b"trailer"))
            read_non_whitespace(stream)
            stream.seek(-1, 1)
            read_object(stream, reader)
        for idnum, (container, _) in getattr(reader, "xref_objStm", {}).items():
            if _offset_of(reader, container) >= start:  # objects packed in a stream of the update
                reader.get_object(idnum)
    except _READ_ERRORS as exc:
        return [f"{CHANGED_AFTER}: the update is ambiguous ({exc})"]
    return []


def _offset_of(reader: PdfReader, idnum: int) -> int:
    for table in reader.xref.values():
        if idnum in table:
            return int(table[idnum])
    return -1


def _one_update(tail: bytes) -> bool:
    """Whether `tail` is a single incremental update: one ``startxref``, one ``%%EOF`` ending it."""
    markers = [m.end() for m in _EOF.finditer(tail)]
    return len(markers) == 1 and not tail[markers[0] :].strip(_WHITESPACE) and len(re.findall(rb"startxref", tail)) == 1


def _shown_problems(before: PdfReader, after: PdfReader) -> list[str]:
    if len(before.pages) != len(after.pages):
        return [f"the update changes the number of pages ({len(before.pages)} → {len(after.pages)})"]
    problems: list[str] = []
    for n, (p0, p1) in enumerate(zip(before.pages, after.pages, strict=True), start=1):
        for key in _PAGE_KEYS:
            if key == "/Annots":
                problems += _annotation_problems(n, p0.get("/Annots"), p1.get("/Annots"))
            elif _canon(p0.get(key)) != _canon(p1.get(key)):
                problems.append(f"page {n}: the update changes {key[1:]}")
        for key in ("/Resources", "/MediaBox", "/CropBox", "/Rotate"):
            if _canon(p0.get_inherited(key, None)) != _canon(p1.get_inherited(key, None)):
                problems.append(f"page {n}: the update changes inherited {key[1:]}")
    c0: Any = before.trailer["/Root"].get_object()
    c1: Any = after.trailer["/Root"].get_object()
    for key in sorted(set(c0) | set(c1)):
        if key == "/Names":
            problems += _names_problems(c0.get("/Names"), c1.get("/Names"))
        elif key != "/Pages" and _canon(c0.get(key)) != _canon(c1.get(key)):
            problems.append(f"the update changes the document's {key[1:]}")
    for key in ("/Info", "/Encrypt"):
        if _canon(before.trailer.get(key)) != _canon(after.trailer.get(key)):
            problems.append(f"the update changes the document's {key[1:]}")
    return problems


def _annotation_problems(page: int, a0: Any, a1: Any) -> list[str]:
    before = [_canon(a) for a in (a0.get_object() if a0 is not None else [])]
    after_objs = list(a1.get_object()) if a1 is not None else []
    after = [_canon(a) for a in after_objs]
    if after[: len(before)] != before:
        return [f"page {page}: the update changes existing annotations"]
    added = after_objs[len(before) :]
    if not added:
        return [] if page != 1 else ["page 1: the update has no seal"]
    if page != 1 or len(added) != 1 or not isinstance(added[0], IndirectObject):
        return [f"page {page}: the update adds annotations"]
    return []


def _seal_problems(before: PdfReader, after: PdfReader) -> tuple[list[str], str | None]:
    """Whether the annotation the update adds to page 1 is exactly the seal Sceau draws."""
    a0, a1 = before.pages[0].get("/Annots"), after.pages[0].get("/Annots")
    count = len(a0.get_object()) if a0 is not None else 0
    added = list(a1.get_object())[count:] if a1 is not None else []
    if len(added) != 1:
        return [], None  # reported by _annotation_problems
    annot: Any = added[0].get_object()
    not_seal = ["page 1: the update adds an annotation that is not Sceau's seal"]
    if not isinstance(annot, DictionaryObject) or set(annot) - _SEAL_KEYS:
        return not_seal, None
    if (
        annot.get("/Type") != "/Annot"
        or annot.get("/Subtype") != "/Stamp"
        or annot.get("/NM") != SEAL_NAME
        or annot.get("/Contents") != SEAL_CONTENTS
        or annot.get("/F") != SEAL_FLAGS
        or ("/P" in annot and _idnum(annot.raw_get("/P")) != _idnum(before.pages[0].indirect_reference))
    ):
        return not_seal, None
    text: Any = annot.get(SEAL_TEXT_KEY)
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if not isinstance(text, str) or not text.isascii() or not 0 < len(text) <= MAX_SEAL_TEXT:
        return ["page 1: the seal does not carry the text of its QR code"], None
    rect = [float(v) for v in annot.get("/Rect", [])]
    box = before.pages[0].mediabox
    if not any(_close(rect, seal_rect(box, position)) for position in SEAL_POSITIONS):
        return ["page 1: the seal is not where Sceau puts it, or not of Sceau's size"], None
    ap: Any = annot.get("/AP")
    stream: Any = ap.get("/N") if isinstance(ap, DictionaryObject) and set(ap) == {"/N"} else None
    stream = stream.get_object() if stream is not None else None
    try:
        expected = qr_drawing(text, SEAL_SIZE)
    except (segno.DataOverflowError, ValueError):
        return ["page 1: the seal's text cannot be drawn as a QR code"], None
    if (
        not isinstance(stream, StreamObject)
        or set(stream) - _APPEARANCE_KEYS
        or stream.get("/Type") != "/XObject"
        or stream.get("/Subtype") != "/Form"
        or stream.get("/Filter", "/FlateDecode") != "/FlateDecode"
        or not _close([float(v) for v in stream.get("/BBox", [])], (0, 0, SEAL_SIZE, SEAL_SIZE))
        or stream.get_data() != expected
    ):
        return ["page 1: the seal's appearance is not the QR code of its text"], None
    return [], text


def _idnum(obj: Any) -> int | None:
    return obj.idnum if isinstance(obj, IndirectObject) else None


def _close(values: list[float], expected: tuple[float, ...]) -> bool:
    return len(values) == len(expected) and all(abs(a - b) < 0.01 for a, b in zip(values, expected, strict=True))


def _redefinition_problems(before: PdfReader, after: PdfReader) -> list[str]:
    """Objects of the original that the update redefines, other than those Sceau's update must
    rewrite (catalog, name trees, page 1 and its annotation list) or the original's cross-reference
    streams (pypdf may reuse their numbers)."""
    allowed = _rewritable(before)
    problems = []
    for idnum in sorted(_locations(before)):
        if idnum in allowed or _location(after, idnum) == _location(before, idnum):
            continue
        try:
            old = before.get_object(idnum)
        except _READ_ERRORS:
            old = None
        if isinstance(old, StreamObject) and old.get("/Type") == "/XRef":
            continue
        problems.append(f"the update redefines object {idnum} of the original")
    return problems[:5] + (["…"] if len(problems) > 5 else [])


def _rewritable(reader: PdfReader) -> set[int]:
    out: set[int] = set()
    root = reader.trailer.raw_get("/Root")
    _add_ref(out, root)
    catalog: Any = root.get_object()
    names = catalog.raw_get("/Names") if "/Names" in catalog else None
    _add_ref(out, names)
    if names is not None and "/EmbeddedFiles" in names.get_object():
        tree = names.get_object().raw_get("/EmbeddedFiles")
        stack = [tree]
        while stack and len(out) < 10_000:
            node = stack.pop()
            _add_ref(out, node)
            kids = node.get_object().get("/Kids") or []
            _add_ref(out, node.get_object().raw_get("/Kids") if "/Kids" in node.get_object() else None)
            stack += list(kids)
    page = reader.pages[0]
    _add_ref(out, page.indirect_reference)
    _add_ref(out, page.raw_get("/Annots") if "/Annots" in page else None)
    return out


def _add_ref(out: set[int], obj: Any) -> None:
    if isinstance(obj, IndirectObject):
        out.add(obj.idnum)


def _locations(reader: PdfReader) -> set[int]:
    return {idnum for table in reader.xref.values() for idnum in table} | set(reader.xref_objStm)


def _location(reader: PdfReader, idnum: int) -> Any:
    """Where `reader` reads object `idnum` from, as pypdf resolves it (object streams first)."""
    if idnum in reader.xref_objStm:
        stm, index = reader.xref_objStm[idnum]
        return ("objstm", _location(reader, int(stm)), index)
    return tuple(
        sorted(
            (gen, table[idnum], reader.xref_free_entry.get(gen, {}).get(idnum, False))
            for gen, table in reader.xref.items()
            if idnum in table
        )
    )


def _names_problems(n0: Any, n1: Any) -> list[str]:
    d0 = n0.get_object() if n0 is not None else DictionaryObject()
    d1 = n1.get_object() if n1 is not None else DictionaryObject()
    problems = []
    for key in sorted(set(d0) | set(d1)):
        if key == "/EmbeddedFiles":
            names0 = _name_tree(d0.get(key))
            names1 = _name_tree(d1.get(key))
            extra = {k: v for k, v in names1.items() if k not in names0}
            if any(names1.get(k) != v for k, v in names0.items()) or set(extra) != {RECEIPT_NAME}:
                problems.append("the update changes attachments other than the receipt")
        elif _canon(d0.get(key)) != _canon(d1.get(key)):
            problems.append(f"the update changes the document's {key[1:]} names (scripts, destinations…)")
    if "/EmbeddedFiles" not in d1:
        problems.append("the update does not attach the receipt")
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
    """A comparable rendering of a PDF object with every reference resolved (streams decoded),
    except references to pages: those are named by object number, since a page's own keys are
    compared page by page and page 1 legitimately gains the seal in its annotations (a catalog's
    /OpenAction, a link's /Dest or an annotation's /P point at pages)."""
    if depth > 64:
        return "<deep>"
    if isinstance(obj, IndirectObject):
        if obj.idnum in seen:
            return ("<ref>", obj.idnum)
        target = obj.get_object()
        if isinstance(target, DictionaryObject) and target.get("/Type") == "/Page":
            return ("<page>", obj.idnum, obj.generation)
        return _canon(target, seen | {obj.idnum}, depth + 1)
    if isinstance(obj, StreamObject):
        head = {
            k: _canon(v, seen, depth + 1) for k, v in obj.items() if k not in ("/Length", "/Filter", "/DecodeParms")
        }
        return ("<stream>", tuple(sorted(head.items())), _stream_digest(obj))
    if isinstance(obj, DictionaryObject):
        return tuple(sorted((k, _canon(v, seen, depth + 1)) for k, v in obj.items() if k != "/Parent"))
    if isinstance(obj, ArrayObject | list):
        return tuple(_canon(v, seen, depth + 1) for v in obj)
    return repr(obj)


def _stream_digest(obj: StreamObject) -> str:
    """The SHA-256 of a stream's decoded data (of its raw bytes when undecodable). Once per stream
    object and file, counted against the file's budget: a stream shared by every page is decoded
    once, and pypdf's cached decoded copy is dropped once hashed, so streams are not all held at once."""
    memo = _DIGESTS.get()
    if memo is None:
        memo = {}
    known = memo.get(id(obj))
    if known is not None:
        return known[1]
    try:
        data = obj.get_data()
    except LimitReachedError:
        raise
    except Exception:  # undecodable: compare the raw bytes
        data = obj._data
    limits.spend(len(data))
    if getattr(obj, "decoded_self", None) is not None:
        obj.decoded_self = None
    digest = hashlib.sha256(data).hexdigest()
    memo[id(obj)] = (obj, digest)  # the object is kept, so its id is not reused meanwhile
    return digest


_DIGESTS: ContextVar[dict[int, tuple[StreamObject, str]] | None] = ContextVar("sceau_pdf_digests", default=None)
