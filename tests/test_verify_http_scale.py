"""The upload path of POST /api/v1/verify at speed: a plain multipart body is split with `bytes.find`
instead of werkzeug's parser, and must answer exactly what werkzeug's parsing answers, for the
plain bodies HTTP clients send and for every body that is not plain (which werkzeug still reads).
Driven over the real app and the session's anvil node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certifier.service.app import create_app
from tests.conftest import Chain, run_sceau, unique, write_docs

BOUNDARY = "sceau-boundary-7f3a"


@pytest.fixture(scope="module")
def issued(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """A document of 100 KiB and its receipt."""
    folder = tmp_path_factory.mktemp("http-scale")
    name = unique("Université du Téléversement")
    assert (
        run_sceau("issuer", "create", name, "--kind", "diploma", "--id", unique("UP").replace(" ", "-")).returncode == 0
    )
    [doc] = write_docs(folder, 1)
    doc.write_bytes(doc.read_bytes() + bytes(range(256)) * 400)  # every byte value, CR and LF included
    assert run_sceau("issue", "--issuer", name, doc).returncode == 0
    return doc.read_bytes(), Path(f"{doc}.receipt.json").read_bytes()


@pytest.fixture
def client(chain: Chain, tmp_path: Path) -> Iterator[Any]:
    app = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url, "SCEAU_STORAGE": str(tmp_path / "s")})
    yield app.test_client()
    app.extensions["sceau"].dispose()


def part(name: str, data: bytes, filename: str | None = "x", *, eol: bytes = b"\r\n", extra: bytes = b"") -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return f"--{BOUNDARY}".encode() + eol + disposition.encode() + eol + extra + eol + data + eol


def post(client: Any, body: bytes) -> tuple[int, dict[str, Any]]:
    response = client.post("/api/v1/verify", data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}")
    return response.status_code, json.loads(response.data)


def close(eol: bytes = b"\r\n") -> bytes:
    return f"--{BOUNDARY}--".encode() + eol


def test_a_plain_upload_is_verified(client: Any, issued: tuple[bytes, bytes]) -> None:
    doc, receipt = issued
    status, verdict = post(client, part("file", doc) + part("receipt", receipt) + close())
    assert status == 200 and verdict["verdict"] == "valid"
    status, verdict = post(
        client, part("receipt", receipt) + part("file", doc, extra=b"Content-Type: application/pdf\r\n") + close()
    )
    assert status == 200 and verdict["verdict"] == "valid"  # any order, a Content-Type per part
    status, verdict = post(client, part("file", doc + b"!") + part("receipt", receipt) + close())
    assert status == 200 and verdict["verdict"] == "tampered"  # the bytes between the delimiters, exactly


@pytest.mark.parametrize(
    "shape",
    ["lf_line_ends", "preamble", "epilogue", "header_continuation", "transfer_encoding", "boundary_in_data"],
)
def test_bodies_that_are_not_plain_are_read_as_werkzeug_reads_them(
    client: Any, issued: tuple[bytes, bytes], shape: str
) -> None:
    doc, receipt = issued
    if shape == "lf_line_ends":
        body = part("file", doc, eol=b"\n") + part("receipt", receipt, eol=b"\n") + close(b"\n")
    elif shape == "preamble":
        body = b"a preamble nobody reads\r\n" + part("file", doc) + part("receipt", receipt) + close()
    elif shape == "epilogue":
        body = part("file", doc) + part("receipt", receipt) + close() + b"an epilogue\r\n"
    elif shape == "header_continuation":
        body = part("file", doc, extra=b"Content-Type: application/pdf;\r\n charset=binary\r\n") + part(
            "receipt", receipt
        )
        body += close()
    elif shape == "transfer_encoding":
        body = part("file", doc, extra=b"Content-Transfer-Encoding: binary\r\n") + part("receipt", receipt) + close()
    else:  # the document ends with what looks like a closing delimiter: werkzeug ends the body there
        body = part("file", doc + f"\r\n--{BOUNDARY}--\r\n".encode()) + part("receipt", receipt) + close()
    status, verdict = post(client, body)
    if shape == "boundary_in_data":
        assert status == 400 and verdict["error"].startswith("no receipt given")  # werkzeug ended the body there
    else:
        assert status == 200 and verdict["verdict"] == "valid", verdict


def test_what_the_endpoint_refuses_it_still_refuses(client: Any, issued: tuple[bytes, bytes]) -> None:
    doc, receipt = issued
    status, verdict = post(client, part("file", doc) + part("recipt", receipt) + close())
    assert status == 400 and "'recipt'" in verdict["error"]  # a misspelt part is named, never ignored
    status, verdict = post(client, part("file", doc) + part("receipt", receipt, filename=None) + close())
    assert status == 400 and "'receipt'" in verdict["error"]  # a receipt sent as a text field is not a file
    status, verdict = post(client, part("receipt", receipt) + close())
    assert status == 400 and "missing multipart field 'file'" in verdict["error"]
    status, verdict = post(client, part("file", doc) + close())
    assert status == 400 and verdict["error"].startswith("no receipt given")
    status, verdict = post(client, part("file", doc) + part("file", b"other") + part("receipt", receipt) + close())
    assert status == 200 and verdict["verdict"] == "valid"  # a repeated part: the first counts, as werkzeug has it
