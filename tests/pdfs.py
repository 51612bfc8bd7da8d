"""Small real PDFs for tests, made with pypdf."""

from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NullObject


def diploma_pdf(text: str = "Diplome national de Master - Jeanne Dupont") -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 20 Tf 60 700 Td ({text}) Tj ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(content)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def shadow_update(certified: bytes, new_text: str) -> bytes:
    """A malicious incremental update that redefines page 1's content stream."""
    writer = PdfWriter(BytesIO(certified), incremental=True)
    writer._add_object(NullObject())  # pypdf would reuse the number of the previous update's xref stream
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 20 Tf 60 700 Td ({new_text}) Tj ET".encode("latin-1"))
    writer.pages[0][NameObject("/Contents")] = writer._add_object(content)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def text_of(data: bytes) -> str:
    return PdfReader(BytesIO(data)).pages[0].extract_text()
