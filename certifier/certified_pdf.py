"""Making a certified copy of a PDF: the original bytes, then one incremental update (pypdf)
adding the receipt as an attachment and the seal as a printable stamp annotation on page 1.

The QR code is drawn as vector squares in the annotation's appearance stream: sharp at any zoom
and on any printer, with no image codec involved."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import segno
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from verifier.errors import DocumentError
from verifier.pdf import RECEIPT_NAME, SEAL_NAME, is_pdf
from verifier.receipt import Receipt

POSITIONS = ("bottom-right", "bottom-left", "top-right", "top-left")
MARGIN = 24.0


def qr_drawing(text: str, size: float) -> bytes:
    """PDF drawing operators for the QR code of `text`, `size` points wide, quiet zone included."""
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


def certify_and_seal(
    original: bytes, receipt: Receipt, private_key: Any, anchored_at: int, *, position: str = "bottom-right"
) -> bytes:
    """The certified copy, its QR carrying the receipt's seal signed with the issuer's `private_key`."""
    from verifier.seal import make_seal

    return certify(original, receipt, make_seal(receipt, {}, private_key, anchored_at).encode(), position=position)


def certify(
    original: bytes, receipt: Receipt, seal_text: str, *, position: str = "bottom-right", size: float = 96.0
) -> bytes:
    """The certified copy of `original`, which must be the document `receipt` certifies."""
    import hashlib

    if not is_pdf(original):
        raise DocumentError("only PDF documents can be certified as PDF")
    if hashlib.sha256(original).digest() != receipt.document.sha256:
        raise DocumentError("the receipt is for another document")
    if position not in POSITIONS:
        raise DocumentError(f"seal position must be one of {', '.join(POSITIONS)}")
    reader = PdfReader(BytesIO(original))
    box = reader.pages[0].mediabox
    left = float(box.left) + MARGIN if position.endswith("left") else float(box.right) - MARGIN - size
    bottom = float(box.bottom) + MARGIN if position.startswith("bottom") else float(box.top) - MARGIN - size
    writer = PdfWriter(BytesIO(original), incremental=True)
    writer.add_attachment(RECEIPT_NAME, receipt.to_json().encode())
    appearance = DecodedStreamObject()
    appearance.set_data(qr_drawing(seal_text, size))
    appearance.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(size), FloatObject(size)]),
        }
    )
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Stamp"),
            NameObject("/Rect"): ArrayObject(
                [FloatObject(left), FloatObject(bottom), FloatObject(left + size), FloatObject(bottom + size)]
            ),
            NameObject("/NM"): TextStringObject(SEAL_NAME),
            NameObject("/Contents"): TextStringObject("Sceau seal: scan to verify / scanner pour vérifier"),
            NameObject("/F"): NumberObject(4 | 128),  # print, locked
            NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(appearance)}),
        }
    )
    writer.add_annotation(0, annotation)
    out = BytesIO()
    writer.write(out)
    data = out.getvalue()
    if not data.startswith(original):  # pragma: no cover - pypdf's incremental mode guarantees it
        raise DocumentError("internal error: the certified copy does not keep the original bytes")
    return data
