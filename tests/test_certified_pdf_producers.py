"""Certified copies of PDFs from real producers, checked without a chain: the verifier accepts the
original followed by exactly the update Sceau writes, and nothing else.

Every generator (fpdf2, reportlab, Ghostscript, qpdf, pyHanko) is installed by `make install`; a
missing one fails these tests rather than skipping them."""

from __future__ import annotations

import time
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject, TextStringObject

from tests.pdfs import (
    SEAL_TEXT,
    _increment,
    _written,
    certified_copy,
    covering_appearance,
    diploma_pdf,
    edited_incrementally,
    forged_seal,
    fpdf2_pdf,
    ghostscript_pdf,
    info_update,
    overlay_seal,
    pades_signed,
    pades_status,
    qpdf,
    reportlab_pdf,
    self_signed,
    text_of,
)
from verifier.pdf import CHANGED_AFTER, open_certified

PRODUCERS: dict[str, Callable[[], bytes]] = {
    "pypdf": diploma_pdf,
    "fpdf2": fpdf2_pdf,
    "reportlab": reportlab_pdf,
    "ghostscript": ghostscript_pdf,
    "qpdf-linearized": lambda: qpdf(reportlab_pdf(), "--linearize"),
    "qpdf-object-streams": lambda: qpdf(ghostscript_pdf(), "--object-streams=generate"),
    "qpdf-linearized-object-streams": lambda: qpdf(fpdf2_pdf(), "--linearize", "--object-streams=generate"),
    "already-incremental": lambda: edited_incrementally(reportlab_pdf()),
    "already-incremental-twice": lambda: edited_incrementally(edited_incrementally(fpdf2_pdf())),
}


@pytest.fixture(params=sorted(PRODUCERS))
def original(request: pytest.FixtureRequest) -> bytes:
    return PRODUCERS[request.param]()


def problems_of(data: bytes) -> tuple[str, ...]:
    certified = open_certified(data)
    assert certified is not None and certified.original is not None
    return certified.problems


def changed_after(data: bytes) -> tuple[str, ...]:
    """The problems of a file changed after certification, that statement first; the others say
    what the change does."""
    problems = problems_of(data)
    assert problems[0] == CHANGED_AFTER, problems
    certified = open_certified(data)
    assert certified is not None and certified.seal_text is None
    return problems[1:]


def test_a_genuine_certified_copy_verifies_and_gives_back_the_original(original: bytes) -> None:
    for position in ("bottom-right", "top-left"):
        copy = certified_copy(original, position)
        certified = open_certified(copy)
        assert certified is not None
        assert certified.original == original and certified.problems == ()
        assert certified.seal_text == SEAL_TEXT
        assert text_of(copy) == text_of(original)


def test_a_later_update_redrawing_the_seal_over_the_page_is_refused(original: bytes) -> None:
    forged = overlay_seal(certified_copy(original), "Diplome de Doctorat")
    assert (
        "Doctorat" in PdfReader(BytesIO(forged)).pages[0]["/Annots"][-1].get_object()["/AP"]["/N"].get_data().decode()
    )
    assert changed_after(forged) == ("page 1: the seal is not where Sceau puts it, or not of Sceau's size",)


def test_a_later_update_that_changes_nothing_shown_is_still_refused(original: bytes) -> None:
    forged = info_update(certified_copy(original))
    assert PdfReader(BytesIO(forged)).metadata.title == "Altered title"  # type: ignore[union-attr]
    assert changed_after(forged) == ("the update changes the document's Info",)


def test_a_later_update_glued_to_sceaus_without_its_eof_marker_is_refused() -> None:
    copy = certified_copy(fpdf2_pdf())
    later = overlay_seal(copy)
    glued = copy[: copy.rindex(b"%%EOF")] + later[len(copy) :]  # one %%EOF, two startxref
    assert changed_after(glued)
    assert changed_after(copy + b"\n% a comment\n") == ()
    assert problems_of(copy + b"\r\n\n  \n") == ()  # whitespace after %%EOF is no update


def page_box(writer: PdfWriter) -> ArrayObject:
    box = writer.pages[0].mediabox
    return ArrayObject([FloatObject(v) for v in (box.left, box.bottom, box.right, box.top)])


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"Rect": lambda w: page_box(w)}, "not where Sceau puts it"),
        ({"Rect": ArrayObject([FloatObject(v) for v in (10, 10, 106, 106)])}, "not where Sceau puts it"),
        ({"AP": lambda w: DictionaryObject({NameObject("/N"): covering_appearance(w, 96, 96, "X")})}, "appearance"),
        ({"SceauSeal": TextStringObject("SC1:ANOTHER-SEAL")}, "appearance"),
        ({"SceauSeal": None}, "does not carry the text"),
        ({"F": NumberObject(4 | 2)}, "not Sceau's seal"),
        ({"Contents": TextStringObject("Revoked: do not trust")}, "not Sceau's seal"),
        ({"NM": TextStringObject("other")}, "not Sceau's seal"),
        ({"A": DictionaryObject({NameObject("/S"): NameObject("/URI")})}, "not Sceau's seal"),
        ({"OC": DictionaryObject()}, "not Sceau's seal"),
        ({"Popup": DictionaryObject()}, "not Sceau's seal"),
        ({"CA": FloatObject(0)}, "not Sceau's seal"),
    ],
)
def test_a_single_update_whose_seal_is_not_the_one_sceau_draws_is_refused(
    changes: dict[str, Any], problem: str
) -> None:
    forged = forged_seal(fpdf2_pdf(), **changes)
    problems = problems_of(forged)
    assert len(problems) == 1 and problem in problems[0], problems
    certified = open_certified(forged)
    assert certified is not None and certified.seal_text is None


def test_the_forgery_helper_without_changes_makes_a_genuine_copy() -> None:
    assert problems_of(forged_seal(fpdf2_pdf())) == ()


def test_a_single_update_that_also_redefines_an_object_of_the_original_is_refused() -> None:
    def swap_font(writer: PdfWriter) -> None:
        font = writer.pages[0]["/Resources"]["/Font"]["/F1"].get_object()
        font[NameObject("/BaseFont")] = NameObject("/Courier")

    problems = problems_of(forged_seal(diploma_pdf(), also=swap_font))
    assert "page 1: the update changes Resources" in problems
    assert any(p.startswith("the update redefines object ") for p in problems), problems


def test_a_single_update_that_also_changes_the_information_dictionary_is_refused() -> None:
    original = reportlab_pdf()
    copy = certified_copy(original)
    writer = _increment(original)
    writer.add_metadata({"/Title": "Altered"})
    reader = PdfReader(BytesIO(copy))
    writer.add_attachment("sceau-receipt.json", reader.attachments["sceau-receipt.json"][0])
    forged = _written(writer)
    problems = problems_of(forged)
    assert "the update changes the document's Info" in problems
    assert "page 1: the update has no seal" in problems


@pytest.mark.parametrize("tail", [b"\n", b"\r\n", b"garbage\n", b"garbage", b"\x00\x00\n", b"%%EOF\n"])
def test_an_original_with_stray_bytes_after_its_last_eof_is_found(tail: bytes) -> None:
    original = fpdf2_pdf() + tail
    certified = open_certified(certified_copy(original))
    assert certified is not None and certified.original == original and certified.problems == ()


def test_an_open_action_pointing_at_page_1_is_not_a_change() -> None:
    original = fpdf2_pdf()
    assert "/OpenAction" in PdfReader(BytesIO(original)).trailer["/Root"]
    assert problems_of(certified_copy(original)) == ()


def with_eof_lines(data: bytes, count: int) -> bytes:
    """`data` with `count` extra ``%%EOF`` lines just before its last ``startxref``: still readable."""
    at = data.rindex(b"startxref")
    return data[:at] + b"%%EOF\n" * count + data[at:]


def test_thirty_thousand_eof_markers_are_handled_in_linear_time() -> None:
    copy = certified_copy(diploma_pdf())
    padded = with_eof_lines(copy + copy[copy.rindex(b"startxref") :], 30_000)  # a later "update" of 30,000 lines
    assert len(padded) > 170 * 1024 and open_certified(copy + b"%%EOF\n" * 30_000) is None  # pypdf cannot read it
    start = time.monotonic()
    assert changed_after(padded) == ()
    altered = bytearray(padded)
    altered[200] ^= 1  # inside the original: no prefix has the receipt's digest, every marker is tried
    certified = open_certified(bytes(altered))
    assert certified is not None and certified.original is None
    original = with_eof_lines(diploma_pdf(), 30_000)  # an odd but genuine original
    certified = open_certified(certified_copy(original))
    assert certified is not None and certified.original == original and certified.problems == ()
    assert time.monotonic() - start < 5


def test_a_pades_signature_still_validates_after_certification() -> None:
    key, cert = self_signed()
    original = pades_signed(reportlab_pdf(), key, cert)
    before = pades_status(original, cert)
    assert before.intact and before.valid and before.trusted and before.bottom_line
    copy = certified_copy(original)
    certified = open_certified(copy)
    assert certified is not None and certified.original == original and certified.problems == ()
    after = pades_status(copy, cert)
    assert after.intact and after.valid and after.trusted
    assert after.coverage.name == "ENTIRE_REVISION"  # Sceau's update comes after the signed revision
    # pyHanko whitelists no annotation or attachment added after an approval signature ("the most
    # lenient modification policy is not supported", docs/known-issues): it rates Sceau's update
    # OTHER, so its bottom line is False. The original that Sceau gives back validates fully.
    assert after.modification_level.name == "OTHER" and not after.bottom_line
    assert pades_status(certified.original, cert).bottom_line
    assert changed_after(overlay_seal(copy))
    assert changed_after(info_update(copy))


def test_a_seal_text_that_spells_pdf_keywords_does_not_look_like_a_later_update() -> None:
    from certifier.chain.certified_pdf import certify
    from tests.pdfs import receipt_for

    original = fpdf2_pdf()
    text = "SC1:%%EOF startxref %%EOF"  # Base45 has % and capitals
    certified = open_certified(certify(original, receipt_for(original), text))
    assert certified is not None and certified.problems == () and certified.seal_text == text
