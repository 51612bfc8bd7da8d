"""The fast multipart path never disagrees with werkzeug: whenever `split_plain` answers, werkzeug's
parser reads the same fields and files from the same bytes (generated bodies, then mutated ones:
a parser differential is how a verifier ends up checking one file while showing another)."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from verifier.multipart import Part, split_plain

SAFE = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-.[] ", min_size=1, max_size=8)
PARTS = st.lists(
    st.tuples(SAFE, st.one_of(st.none(), SAFE, st.just("")), st.binary(max_size=64), st.booleans()),
    min_size=1,
    max_size=5,
)


def encode(boundary: str, parts: list[tuple[str, str | None, bytes, bool]]) -> bytes:
    out = b""
    for name, filename, data, typed in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        head = f"Content-Disposition: {disposition}\r\n"
        if filename is not None and typed:
            head += "Content-Type: application/pdf\r\n"
        value = data if filename is not None else data.decode("latin-1").encode("utf-8")
        out += f"--{boundary}\r\n{head}\r\n".encode() + value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def werkzeug_reads(body: bytes, content_type: str) -> list[tuple[str, str | None, bytes]]:
    environ = EnvironBuilder(
        method="POST", input_stream=io.BytesIO(body), content_type=content_type, content_length=len(body)
    ).get_environ()
    _stream, form, files = parse_form_data(environ)
    fields = [(k, None, v.encode()) for k, v in form.items(multi=True)]
    uploads = []
    for k, f in files.items(multi=True):
        uploads.append((k, f.filename, f.read()))
        f.close()
    return sorted(fields + uploads, key=repr)


def fast_reads(parts: list[Part]) -> list[tuple[str, str | None, bytes]]:
    return sorted(((p.name, p.filename, p.data) for p in parts), key=repr)


def agree(body: bytes, content_type: str) -> bool:
    """True when the fast path answered (and then it must agree with werkzeug)."""
    parts = split_plain(body, content_type)
    if parts is None:
        return False
    assert fast_reads(parts) == werkzeug_reads(body, content_type), body
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boundary=st.text(alphabet="abcdefXYZ0123456789-'()+_,./:=?", min_size=1, max_size=40), parts=PARTS)
def test_a_plain_body_is_read_as_werkzeug_reads_it(boundary: str, parts: Any) -> None:
    body = encode(boundary, parts)
    if any(f"--{boundary}".encode() in data for _, _, data, _ in parts):
        return  # a part holding the delimiter: not plain, werkzeug decides (below)
    assert agree(body, f'multipart/form-data; boundary="{boundary}"')


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=PARTS,
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10_000),
            st.sampled_from([b"", b"\r", b"\n", b"-", b'"', b";", b":", b"b"]),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_a_mutated_body_is_either_read_as_werkzeug_reads_it_or_left_to_werkzeug(parts: Any, edits: Any) -> None:
    body = bytearray(encode("bnd", parts))
    for position, replacement in edits:
        i = position % (len(body) + 1)
        body[i : i + 1] = replacement
    agree(bytes(body), "multipart/form-data; boundary=bnd")


def test_what_is_not_plain_is_left_to_werkzeug() -> None:
    ok = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF\r\n--b--\r\n'
    assert split_plain(ok, "multipart/form-data; boundary=b") == [Part("file", "a.pdf", b"%PDF")]
    assert split_plain(b"preamble\r\n" + ok, "multipart/form-data; boundary=b") is None
    assert split_plain(ok + b"epilogue", "multipart/form-data; boundary=b") is None
    assert split_plain(ok.replace(b"\r\n", b"\n"), "multipart/form-data; boundary=b") is None
    assert split_plain(ok.replace(b"%PDF", b"%PDF\r\n--b"), "multipart/form-data; boundary=b") is None
    assert split_plain(ok.replace(b"\r\n\r\n", b"\r\nX-Other: 1\r\n\r\n"), "multipart/form-data; boundary=b") is None
    twice = ok.replace(b"\r\n\r\n", b'\r\nContent-Disposition: form-data; name="other"\r\n\r\n')
    assert split_plain(twice, "multipart/form-data; boundary=b") is None
    assert split_plain(ok, "multipart/mixed; boundary=b") is None
    text = b'--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\n\xff\r\n--b--\r\n'
    assert split_plain(text, "multipart/form-data; boundary=b") is None  # not UTF-8


def test_the_api_accepts_a_plain_and_an_unusual_body_alike(service: Any, issuer: str) -> None:
    """The fast path (plain body) and werkzeug (a body with a preamble, not plain) give the views
    the same fields and files: the same document, kind and reference either way."""
    import hashlib
    import os

    auth = service.token(issuer)
    answers = []
    for preamble in (b"", b"a preamble any parser skips\r\n"):
        content = os.urandom(2048)
        body = preamble + encode(
            "bnd",
            [
                ("file", "cohort.pdf", content, True),
                ("reference", None, b"REF-1", False),
                ("kind", None, b"diploma", False),
            ],
        )
        assert (split_plain(body, "multipart/form-data; boundary=bnd") is None) == bool(preamble)
        response = service.client.post(
            "/api/v1/documents", data=body, headers={**auth, "Content-Type": "multipart/form-data; boundary=bnd"}
        )
        assert response.status_code == 202, response.get_json()
        doc = response.get_json()["documents"][0]
        assert doc["sha256"] == hashlib.sha256(content).hexdigest()
        full = service.client.get(f"/api/v1/documents/{doc['id']}", headers=auth).get_json()
        answers.append((full["kind"], full["reference"], full["filename"]))
    assert answers == [("diploma", "REF-1", "cohort.pdf")] * 2
