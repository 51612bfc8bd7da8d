"""`sceau issue` for large runs: every receipt in one ZIP (`--receipts-zip`), written whole or not
at all, and a command that starts hashing before it loads the chain libraries."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from tests.conftest import PASSPHRASE, ROOT, Chain, run_sceau, write_docs


def _nonce(chain: Chain, issuer: str) -> int:
    from certifier.keys import keystore

    return int(chain.w3.eth.get_transaction_count(Web3.to_checksum_address(keystore.load(issuer).address)))


def test_receipts_zip_holds_a_receipt_per_document_and_each_verifies(
    chain: Chain, issuer: str, sceau: Any, tmp_path: Path
) -> None:
    docs = write_docs(tmp_path / "docs", 300)  # past PARALLEL_FROM: hashed in processes
    archive = tmp_path / "out" / "receipts.zip"
    archive.parent.mkdir()
    proc = run_sceau("issue", "--issuer", issuer, "--receipts-zip", archive, "--json", *docs)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["receiptsArchive"] == str(archive)
    assert answer["receipts"] == [d.name + ".receipt.json" for d in docs]
    assert not list((tmp_path / "docs").glob("*.receipt.json"))  # nothing beside the documents
    assert [p.name for p in archive.parent.iterdir()] == ["receipts.zip"]  # no temporary file left
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted(answer["receipts"])
        zf.extractall(tmp_path / "docs")  # as a registrar would: beside the documents
    result = sceau("verify", "--bulk", tmp_path / "docs", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {row["file"]: row["verdict"] for row in report["documents"]} == {d.name: "valid" for d in docs}
    code = sceau("verify", docs[123], "--json")
    assert code.exit_code == 0 and json.loads(code.output)["anchor"]["transactionHash"] == answer["transactionHash"]


def test_receipts_zip_refuses_two_files_of_one_name_before_anything_is_sent(
    chain: Chain, issuer: str, tmp_path: Path
) -> None:
    [a] = write_docs(tmp_path / "a", 1)
    [b] = write_docs(tmp_path / "b", 1)
    assert a.name == b.name
    before = _nonce(chain, issuer)
    proc = run_sceau("issue", "--issuer", issuer, "--receipts-zip", tmp_path / "r.zip", a, b)
    assert proc.returncode == 1
    assert "share a name" in proc.stderr and str(a) in proc.stderr and str(b) in proc.stderr
    assert _nonce(chain, issuer) == before and not (tmp_path / "r.zip").exists()


def test_receipts_zip_in_a_missing_folder_fails_before_anchoring(chain: Chain, issuer: str, tmp_path: Path) -> None:
    docs = write_docs(tmp_path, 2)
    before = _nonce(chain, issuer)
    proc = run_sceau("issue", "--issuer", issuer, "--receipts-zip", tmp_path / "nowhere" / "r.zip", *docs)
    assert proc.returncode == 1 and "no such folder for the receipts archive" in proc.stderr
    assert _nonce(chain, issuer) == before  # nothing anchored whose receipts would be lost


def test_a_failed_run_leaves_neither_archive_nor_temporary_file(chain: Chain, issuer: str, tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs", 3)
    out = tmp_path / "out"
    out.mkdir()
    proc = run_sceau(
        "issue", "--issuer", issuer, "--receipts-zip", out / "r.zip", *docs, env={"SCEAU_KEY_PASSPHRASE": "wrong"}
    )
    assert proc.returncode == 1 and "wrong passphrase" in proc.stderr
    assert list(out.iterdir()) == []


def test_receipts_zip_is_for_receipts_only(chain: Chain, issuer: str, sceau: Any, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path, 1)
    result = sceau("issue", "--issuer", issuer, "--receipts-zip", tmp_path / "r.zip", "--certified-pdf", doc)
    assert result.exit_code == 2 and "--receipts-zip" in result.output
    assert not (tmp_path / "r.zip").exists()


def test_issue_keys_unlock_the_same_as_before(chain: Chain, issuer: str) -> None:
    """The key decrypted in a thread is the issuer's key (the address its record names)."""
    from certifier.cli.resources import unlock_issuer_in_background

    record, unlocking = unlock_issuer_in_background(issuer)
    key = unlocking.result(timeout=60)
    assert Account.from_key(key).address == record.address
    assert key == Account.decrypt(record.keystore, PASSPHRASE)


def test_sceau_issue_loads_no_chain_library_before_it_starts_hashing() -> None:
    """The module of `sceau issue`, and what it needs to start hashing, load neither web3 nor
    eth-account (about 1.8 s): the hashing runs while they load."""
    code = (
        "import sys\n"
        "from certifier.cli.commands import cli\n"
        "cli.get_command(None, 'issue')\n"
        "import certifier.chain.fingerprinting, certifier.chain.receipts_archive\n"
        "import certifier.cli.resources, certifier.keys.keystore  # the key's KDF starts before they load\n"
        "heavy = sorted(m for m in ('web3', 'eth_account', 'eth_keyfile', 'sqlalchemy') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_cli_umask_is_the_service_umask() -> None:
    from certifier.cli.commands import PRIVATE_UMASK
    from certifier.config import PRIVATE_UMASK as SERVICE_UMASK

    assert PRIVATE_UMASK == SERVICE_UMASK


def test_receipt_files_are_on_the_disk_when_the_run_returns(tmp_path: Path, monkeypatch: Any) -> None:
    """Each receipt file and its folder are flushed (fsync) before `write_receipts` returns: the
    documents are anchored by then, and a receipt lost in a crash could not be made again."""
    import os

    from certifier.chain import issuing
    from verifier.core.receipt import Receipt

    corpus = Path(__file__).parent / "assets" / "receipts"
    receipt = Receipt.from_json(next(corpus.glob("valid__*.json")).read_bytes())
    flushed: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(issuing.os, "fsync", fsync)
    targets = [tmp_path / f"d{i}.pdf.receipt.json" for i in range(5)]
    issuing.write_receipts([(t, receipt) for t in targets])
    assert sorted(flushed) == sorted([str(t) + ".tmp" for t in targets] + [str(tmp_path)])
    assert all(Receipt.from_json(t.read_bytes()) == receipt for t in targets)
    assert not list(tmp_path.glob("*.tmp"))
