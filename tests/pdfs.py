"""Small real PDFs for tests: made with pypdf, or by real producers (fpdf2, reportlab,
Ghostscript, qpdf, pyHanko), and the attacks on certified copies."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NullObject,
    TextStringObject,
)

from verifier.core.merkle import LeafValues
from verifier.core.receipt import Anchor, Receipt


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


# ---------------------------------------------------------------- certified PDFs without a chain


def receipt_for(document: bytes) -> Receipt:
    """A well-formed receipt for `document` (not anchored anywhere): enough for PDF structure tests."""
    return Receipt(
        chain_id=31337,
        registry="0x" + "11" * 20,
        anchor=Anchor(
            root=bytes(32),
            transaction_hash=bytes(32),
            block_number=1,
            block_hash=bytes(32),
            issuer_key="0x" + "22" * 20,
            document_count=1,
        ),
        document=LeafValues(
            sha256=hashlib.sha256(document).digest(), salt=bytes(32), index=0, kind=1, valid_from=0, valid_until=0
        ),
        proof=(),
    )


SEAL_TEXT = "SC1:TEST-SEAL-TEXT"


def certified_copy(original: bytes, position: str = "bottom-right") -> bytes:
    from certifier.chain.certified_pdf import certify

    return certify(original, receipt_for(original), SEAL_TEXT, position=position)


def _increment(data: bytes) -> PdfWriter:
    writer = PdfWriter(BytesIO(data), incremental=True)
    size = int(PdfReader(BytesIO(data)).trailer["/Size"])  # pypdf would reuse the last xref stream's number
    writer._objects.extend([None] * max(0, size - 1 - len(writer._objects)))
    return writer


def _written(writer: PdfWriter) -> bytes:
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _seal_of(writer: PdfWriter) -> DictionaryObject:
    for annot in writer.pages[0]["/Annots"]:
        obj = annot.get_object()
        if obj.get("/NM") == "sceau-seal":
            assert isinstance(obj, DictionaryObject)
            return obj
    raise AssertionError("no seal")


def covering_appearance(writer: PdfWriter, width: float, height: float, text: str) -> IndirectObject:
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    stream = DecodedStreamObject()
    stream.set_data(f"1 1 1 rg 0 0 {width} {height} re f 0 0 0 rg BT /F1 20 Tf 60 700 Td ({text}) Tj ET".encode())
    stream.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(v) for v in (0, 0, width, height)]),
            NameObject("/Resources"): DictionaryObject(
                {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
            ),
        }
    )
    return writer._add_object(stream)


def overlay_seal(certified: bytes, text: str = "Diplome de Doctorat") -> bytes:
    """A later update that redraws Sceau's own seal annotation page-sized, painting over the page."""
    writer = _increment(certified)
    seal = _seal_of(writer)
    box = writer.pages[0].mediabox
    width, height = float(box.width), float(box.height)
    seal[NameObject("/Rect")] = ArrayObject([FloatObject(v) for v in (box.left, box.bottom, box.right, box.top)])
    seal[NameObject("/AP")] = DictionaryObject({NameObject("/N"): covering_appearance(writer, width, height, text)})
    return _written(writer)


def info_update(certified: bytes) -> bytes:
    """A later update that changes nothing shown: only the document information dictionary."""
    writer = _increment(certified)
    writer.add_metadata({"/Title": "Altered title"})
    return _written(writer)


def forged_seal(original: bytes, also: Callable[[PdfWriter], None] | None = None, **changes: Any) -> bytes:
    """A certified copy whose single update is Sceau's but for `changes` to the seal annotation
    (a value of None removes the key) and whatever `also` does to the document."""
    from certifier.chain.certified_pdf import certify

    genuine = certify(original, receipt_for(original), SEAL_TEXT)
    reader = PdfReader(BytesIO(genuine))
    base = genuine[: len(original)] if original.endswith(b"\n") else original + b"\n"
    writer = _increment(base)
    writer.add_attachment("sceau-receipt.json", reader.attachments["sceau-receipt.json"][0])
    seal: Any = [a.get_object() for a in reader.pages[0]["/Annots"] if a.get_object().get("/NM") == "sceau-seal"][0]
    ap = seal["/AP"]["/N"].get_object()
    appearance = DecodedStreamObject()
    appearance.set_data(ap.get_data())
    appearance.update({k: v for k, v in ap.items() if k not in ("/Length", "/Filter")})
    annotation = DictionaryObject({k: v for k, v in seal.items() if k not in ("/AP", "/P")})
    annotation[NameObject("/AP")] = DictionaryObject({NameObject("/N"): writer._add_object(appearance)})
    for key, value in changes.items():
        name = NameObject("/" + key)
        if value is None:
            del annotation[name]
        elif callable(value):
            annotation[name] = value(writer)
        else:
            annotation[name] = value
    writer.add_annotation(0, annotation)
    if also is not None:
        also(writer)
    return _written(writer)


# ---------------------------------------------------------------- real producers


def fpdf2_pdf(text: str = "Diplome national de Master - Jeanne Dupont") -> bytes:
    """fpdf2 writes an /OpenAction (open at page 1, fit width) and a classic xref table."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=20)
    pdf.cell(text=text)
    return bytes(pdf.output())


def reportlab_pdf(text: str = "Diplome national de Master - Jeanne Dupont") -> bytes:
    from reportlab.pdfgen import canvas

    out = BytesIO()
    c = canvas.Canvas(out, pagesize=(595, 842))
    c.setFont("Helvetica", 20)
    c.drawString(60, 700, text)
    c.showPage()
    c.save()
    return out.getvalue()


def ghostscript_pdf(text: str = "Diplome national de Master - Jeanne Dupont") -> bytes:
    """Ghostscript's pdfwrite, from PostScript: compressed streams, embedded font subset."""
    postscript = f"%!PS\n/Helvetica findfont 20 scalefont setfont 60 700 moveto ({text}) show showpage\n"
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.ps", Path(tmp) / "out.pdf"
        source.write_text(postscript, encoding="latin-1")
        subprocess.run(
            ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", f"-sOutputFile={target}", str(source)],
            check=True,
            capture_output=True,
        )
        return target.read_bytes()


def qpdf(data: bytes, *options: str) -> bytes:
    """`data` rewritten by qpdf (e.g. --linearize, --object-streams=generate)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in.pdf", Path(tmp) / "out.pdf"
        source.write_bytes(data)
        subprocess.run(["qpdf", *options, str(source), str(target)], check=True, capture_output=True)
        return target.read_bytes()


def edited_incrementally(data: bytes) -> bytes:
    """`data` after an earlier incremental edit: a new title and a sticky note on page 1."""
    writer = _increment(data)
    writer.add_metadata({"/Title": "Diplome (edited)"})
    note = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Text"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (60, 600, 80, 620)]),
            NameObject("/Contents"): TextStringObject("checked by the registrar"),
        }
    )
    writer.add_annotation(0, note)
    return _written(writer)


def self_signed(name: str = "Sceau test signer") -> tuple[Any, Any]:
    """A fresh RSA key and self-signed certificate (cryptography objects), for a test trust root."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def pades_signed(data: bytes, key: Any, cert: Any) -> bytes:
    """`data` signed by pyHanko (PAdES baseline, invisible signature field), itself an incremental
    update."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signing_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    signing_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    signer = signers.SimpleSigner(
        signing_cert=signing_cert,
        signing_key=signing_key,
        cert_registry=SimpleCertificateStore.from_certs([signing_cert]),
    )
    meta = signers.PdfSignatureMetadata(field_name="Registrar", subfilter=fields.SigSeedSubFilter.PADES)
    out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(data)), meta, signer=signer)
    return bytes(out.getvalue())


def pades_status(data: bytes, cert: Any) -> Any:
    """pyHanko's validation status of the first signature of `data`, `cert` being the trust root."""
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    reader = PdfFileReader(BytesIO(data))
    return validate_pdf_signature(reader.embedded_signatures[0], ValidationContext(trust_roots=[root]))
