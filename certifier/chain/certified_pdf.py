"""Making a certified copy of a PDF: the original bytes, then one incremental update (pypdf)
adding the receipt as an attachment and the seal as a printable stamp annotation on page 1.

The QR code is drawn as vector squares in the annotation's appearance stream: sharp at any zoom
and on any printer, with no image codec involved. Where the seal goes, how it is drawn and the
seal text it carries are shared with the verifier (`verifier.pdf`), which redraws the seal and
accepts nothing else."""

from __future__ import annotations

import hashlib
from io import BytesIO
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from verifier.core.errors import DocumentError
from verifier.core.receipt import Receipt
from verifier.pdf import (
    RECEIPT_NAME,
    SEAL_CONTENTS,
    SEAL_FLAGS,
    SEAL_MARGIN,
    SEAL_NAME,
    SEAL_POSITIONS,
    SEAL_SIZE,
    SEAL_TEXT_KEY,
    qr_drawing,
    seal_rect,
)
from verifier.sniff import is_pdf

POSITIONS = SEAL_POSITIONS
MARGIN = SEAL_MARGIN
__all__ = ["MARGIN", "POSITIONS", "certify", "certify_and_seal", "qr_drawing"]


def certify_and_seal(
    original: bytes,
    receipt: Receipt,
    private_key: Any,
    anchored_at: int,
    *,
    fields: dict[str, str] | None = None,
    position: str = "bottom-right",
    verifier_url: str | None = None,
) -> bytes:
    """The certified copy, its QR carrying the receipt's seal signed with the issuer's `private_key`
    and showing `fields` (the displayed fields anchored with the document: a printed copy is then
    checkable against its own words). With `verifier_url`, the QR is a link a phone camera opens."""
    from verifier.core.seal import make_seal, seal_url

    text = make_seal(receipt, fields or {}, private_key, anchored_at).encode()
    return certify(original, receipt, seal_url(verifier_url, text) if verifier_url else text, position=position)


def certify(original: bytes, receipt: Receipt, seal_text: str, *, position: str = "bottom-right") -> bytes:
    """The certified copy of `original`, which must be the document `receipt` certifies."""
    if not is_pdf(original):
        raise DocumentError("only PDF documents can be certified as PDF")
    if hashlib.sha256(original).digest() != receipt.document.sha256:
        raise DocumentError("the receipt is for another document")
    if position not in SEAL_POSITIONS:
        raise DocumentError(f"seal position must be one of {', '.join(SEAL_POSITIONS)}")
    if not seal_text.isascii():  # read back the same by every PDF reader (no text encoding involved)
        raise DocumentError("the seal text must be ASCII")
    # pypdf appends the update right after the last byte: after a stray last line with no line
    # break ("garbage" after %%EOF), the first object would be glued to it.
    base = original if original.endswith((b"\n", b"\r")) else original + b"\n"
    reader = PdfReader(BytesIO(base))
    left, bottom, right, top = seal_rect(reader.pages[0].mediabox, position)
    writer = PdfWriter(BytesIO(base), incremental=True)
    # pypdf numbers new objects after the last object it cloned, not from the trailer's /Size: the
    # number of the original's last cross-reference stream (never cloned) would be given again,
    # and readers would resolve it to the wrong object. Skip to /Size (None slots are not written).
    size = int(reader.trailer.get("/Size", 0))
    writer._objects.extend([None] * max(0, size - 1 - len(writer._objects)))
    writer.add_attachment(RECEIPT_NAME, receipt.to_json().encode())
    appearance = DecodedStreamObject()
    appearance.set_data(qr_drawing(seal_text, SEAL_SIZE))
    appearance.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(v) for v in (0, 0, SEAL_SIZE, SEAL_SIZE)]),
        }
    )
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Stamp"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (left, bottom, right, top)]),
            NameObject("/NM"): TextStringObject(SEAL_NAME),
            NameObject("/Contents"): TextStringObject(SEAL_CONTENTS),
            # a hex string: the seal's text (Base45 has %) never spells a %%EOF marker in the file
            NameObject(SEAL_TEXT_KEY): ByteStringObject(seal_text.encode("ascii")),
            NameObject("/F"): NumberObject(SEAL_FLAGS),
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
