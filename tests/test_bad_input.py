"""Bad input gets one clear line, the right exit code and no traceback, from the installed console
script run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Chain, free_port, run_sceau, write_docs


def one_clear_line(proc: Any, *fragments: str) -> None:
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture
def issued(sceau: Any, issuer: str, tmp_path: Path) -> list[Path]:
    docs = write_docs(tmp_path, 2)
    assert sceau("issue", "--issuer", issuer, *docs).exit_code == 0
    return docs


def test_verify_a_missing_file(chain: Chain, tmp_path: Path) -> None:
    proc = run_sceau("verify", tmp_path / "nope.pdf")
    assert proc.returncode == 4
    one_clear_line(proc, "nope.pdf", "no such file")


def test_verify_a_directory(chain: Chain, tmp_path: Path) -> None:
    proc = run_sceau("verify", tmp_path)
    assert proc.returncode == 4
    one_clear_line(proc, "is a directory")


def test_verify_an_empty_file(chain: Chain, tmp_path: Path) -> None:
    (tmp_path / "empty.pdf").write_bytes(b"")
    proc = run_sceau("verify", tmp_path / "empty.pdf")
    assert proc.returncode == 4
    one_clear_line(proc, "empty.pdf", "empty")


def test_verify_without_a_receipt(chain: Chain, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path, 1)
    proc = run_sceau("verify", doc)
    assert proc.returncode == 4
    assert "no such receipt" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_a_receipt_for_another_file(issued: list[Path]) -> None:
    proc = run_sceau("verify", issued[0], "--receipt", issued[1].with_name(issued[1].name + ".receipt.json"), "--json")
    assert proc.returncode == 1
    verdict = json.loads(proc.stdout)
    assert verdict["verdict"] == "tampered" and "another document" in verdict["checks"][0]["detail"]


def test_a_receipt_for_a_chain_the_verifier_does_not_trust(issued: list[Path], tmp_path: Path) -> None:
    receipt = json.loads(issued[0].with_name(issued[0].name + ".receipt.json").read_text())
    receipt["chainId"] = 11155111
    other = tmp_path / "other.receipt.json"
    other.write_text(json.dumps(receipt))
    proc = run_sceau("verify", issued[0], "--receipt", other, "--json")
    assert proc.returncode == 1
    verdict = json.loads(proc.stdout)
    assert verdict["verdict"] == "untrusted_issuer"
    assert verdict["checks"][-1]["code"] == "trust_anchor.untrusted"
    assert verdict["checks"][-1]["params"]["chain_id"] == 11155111


def test_truncated_receipt(issued: list[Path], tmp_path: Path) -> None:
    text = issued[0].with_name(issued[0].name + ".receipt.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[:200])
    proc = run_sceau("verify", issued[0], "--receipt", cut)
    assert proc.returncode == 4
    assert "ends early" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_huge_receipt(issued: list[Path], tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    huge.write_text('{"mediaType": "' + "x" * 50_000_000 + '"}')
    proc = run_sceau("verify", issued[0], "--receipt", huge, "--json")
    assert proc.returncode == 4
    assert "the limit is 65536" in json.loads(proc.stdout)["error"]


def test_unreachable_chain(issued: list[Path]) -> None:
    proc = run_sceau("verify", issued[0], "--rpc-url", f"http://127.0.0.1:{free_port()}")
    assert proc.returncode == 4
    assert "cannot reach the chain" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_issue_refuses_bad_files_and_writes_nothing(chain: Chain, issuer: str, tmp_path: Path) -> None:
    good = write_docs(tmp_path, 1)[0]
    (tmp_path / "empty.pdf").write_bytes(b"")
    proc = run_sceau("issue", "--issuer", issuer, good, tmp_path / "empty.pdf", tmp_path / "missing.pdf", tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "empty.pdf: the file is empty" in proc.stderr and "missing.pdf: no such file" in proc.stderr
    assert "is a directory" in proc.stderr
    assert list(tmp_path.glob("*.receipt.json")) == []


def test_unknown_issuer_and_wrong_passphrase(chain: Chain, issuer: str, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path, 1)
    proc = run_sceau("issue", "--issuer", "Nobody", doc)
    assert proc.returncode == 1
    one_clear_line(proc, "no issuer named 'Nobody'")
    proc = run_sceau("issue", "--issuer", issuer, doc, env={"SCEAU_KEY_PASSPHRASE": "wrong"})
    assert proc.returncode == 1
    one_clear_line(proc, "wrong passphrase")


def test_bad_dates_are_named(chain: Chain, issuer: str, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path, 1)
    proc = run_sceau("issue", "--issuer", issuer, "--valid-until", "31/12/2030", doc)
    assert proc.returncode == 2 and "31/12/2030" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- the issuer API: never a 500


def test_api_integers_and_dates_out_of_range_are_named_not_500(service: Any, issuer: str) -> None:
    auth = service.token(issuer)
    sha = "ab" * 32

    def post(**doc: Any) -> Any:
        return service.client.post("/api/v1/documents", json={"documents": [{"sha256": sha, **doc}]}, headers=auth)

    huge = post(validFrom=2**63 + 1)
    assert huge.status_code == 400
    assert huge.get_json()["problems"] == [
        "documents[0].validFrom: Unix seconds must be between 0 and 7258118400 (1970 to 2199)"
    ]
    assert post(validUntil=-(2**70)).status_code == 400
    assert post(validFrom=1.5).status_code == 400
    before_1970 = post(validFrom="1969-12-31")
    assert before_1970.status_code == 422
    assert before_1970.get_json()["problems"] == ["documents[0].validFrom: must be between 1970-01-01 and 2199-12-31"]
    assert post(validUntil="2500-01-01").status_code == 422
    assert post(validUntil="2031-02-30").status_code == 422  # well-formed, but no such day
    assert post(validFrom="2030-01-01", validUntil="2029-01-01").status_code == 422
    assert post(validFrom=1782864000.0).status_code == 202  # JSON's integral number is an integer
    assert post(reference="A\x00B").get_json()["problems"] == [
        "documents[0].reference: must not contain control characters"
    ]


def test_api_idempotency_keys_are_refused_past_200_characters_and_replay_up_to_it(service: Any, issuer: str) -> None:
    auth = service.token(issuer)
    body = {"documents": [{"sha256": "cd" * 32}]}
    long = service.client.post("/api/v1/documents", json=body, headers={**auth, "Idempotency-Key": "k" * 201})
    assert long.status_code == 400 and "Idempotency-Key" in long.get_json()["problems"][0]
    key = {**auth, "Idempotency-Key": "k" * 199 + "z"}
    first = service.client.post("/api/v1/documents", json=body, headers=key)
    again = service.client.post("/api/v1/documents", json=body, headers=key)
    assert first.status_code == again.status_code == 202 and first.get_json() == again.get_json()


def test_api_query_and_path_values_out_of_range(service: Any, issuer: str) -> None:
    auth = service.token(issuer)
    for query in ("limit=1001", "limit=0", "after=-1", f"after={2**31}", f"after={2**64}", "after=x", "limit=1e3"):
        response = service.client.get(f"/api/v1/audit?{query}", headers=auth)
        assert response.status_code == 400, query
        assert response.get_json()["problems"][0].split(":")[0] in ("after", "limit")
    assert service.client.get("/api/v1/audit?limit=1000&after=0", headers=auth).status_code == 200
    for path in ("/api/v1/documents/%00", "/api/v1/batches/" + "f" * 500, "/api/v1/documents/x%00y/receipt"):
        assert service.client.get(path, headers=auth).status_code == 404, path
    many = service.client.post("/api/v1/revocations", json={"documents": [1, None], "reason": "fraud"}, headers=auth)
    assert many.status_code == 400 and len(many.get_json()["problems"]) == 2


@pytest.mark.parametrize("size", [1024**2, 64 * 1024])
def test_a_roster_of_many_small_bombs_is_refused(service: Any, issuer: str, size: int) -> None:
    """64 entries of zeros: 1 MiB each once slipped under the per-entry check; 64 KiB each stays
    under it, and the archive's total budget refuses them together."""
    import io
    import zipfile

    entries = {f"{i}.pdf": b"\0" * size for i in range(64)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    roster = "reference,family_name,given_names,degree,date,file\n" + "".join(
        f"R{i},Nom,Prenom,Master,2026-07-01,{i}.pdf\n" for i in range(64)
    )
    response = service.client.post(
        "/api/v1/rosters",
        data={"roster": (io.BytesIO(roster.encode()), "r.csv"), "archive": (io.BytesIO(buf.getvalue()), "a.zip")},
        headers=service.token(issuer),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert any("zip bomb" in p for p in response.get_json()["problems"]), response.get_json()
    assert not list(service.ctx.storage.glob(".roster-*"))


def test_a_roster_with_dates_out_of_range_or_overlong_values(service: Any, issuer: str) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.pdf", b"%PDF a")
        zf.writestr("b.pdf", b"%PDF b")
    roster = (
        "reference,family_name,given_names,degree,date,file\n"
        "R1,Nom,Prenom,Master,1900-01-01,a.pdf\n" + "R" * 300 + ",Nom,Prenom,Master,2026-07-01,b.pdf\n"
    )
    response = service.client.post(
        "/api/v1/rosters",
        data={
            "roster": (io.BytesIO(roster.encode()), "r.csv"),
            "archive": (io.BytesIO(buf.getvalue()), "a.zip"),
            "validUntil": "99999999999999999999",
        },
        headers=service.token(issuer),
        content_type="multipart/form-data",
    )
    assert response.status_code == 400  # the form's validUntil is malformed: 400, with every problem
    problems = response.get_json()["problems"]
    assert "roster line 2 date: must be between 1970-01-01 and 2199-12-31" in problems
    assert "roster line 3 reference: must be a string of at most 200 characters" in problems
    assert any(p.startswith("validUntil: '99999999999999999999' is not a date") for p in problems)
