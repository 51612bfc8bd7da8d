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
    assert "on chain 11155111, which is not one of this verifier's trust anchors" in verdict["checks"][-1]["detail"]


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
