"""The `sceau` CLI end to end, as a registrar and an employer use it, against the session's anvil."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.chainhelpers import advance
from tests.conftest import ONLINE_CHECKS, Chain, never_anchored_receipt, unique, write_docs


def issue(sceau: Any, issuer: str, *args: str | Path) -> dict[str, Any]:
    result = sceau("issue", "--issuer", issuer, "--json", *args)
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.output)
    return out


def verify(sceau: Any, path: Path, *args: str | Path) -> tuple[int, dict[str, Any]]:
    result = sceau("verify", path, "--json", *args)
    return result.exit_code, json.loads(result.output)


def checks_detail(verdict: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["detail"] for c in verdict["checks"]}


def checks(verdict: dict[str, Any]) -> dict[str, bool | None]:
    return {c["id"]: c["ok"] for c in verdict["checks"]}


def test_issue_a_cohort_then_verify_each_diploma(sceau: Any, issuer: str, tmp_path: Path) -> None:
    docs = write_docs(tmp_path, 5)
    out = issue(sceau, issuer, *docs)
    assert out["gasUsed"] <= 60_000 and len(out["receipts"]) == 5
    for doc in docs:
        assert doc.with_name(doc.name + ".receipt.json").exists()
        code, verdict = verify(sceau, doc)
        assert code == 0 and verdict["verdict"] == "valid"
        assert all(checks(verdict).values())
        assert list(checks(verdict)) == ONLINE_CHECKS
        assert verdict["issuer"]["name"] == issuer and verdict["issuer"]["identifier"].startswith("0751717J-")
        assert verdict["anchor"]["transactionHash"] == out["transactionHash"]


def test_human_output_gives_the_verdict_then_every_check(sceau: Any, issuer: str, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path, 1)
    issue(sceau, issuer, doc)
    result = sceau("verify", doc)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"VALID: the document is authentic, issued by {issuer}"
    assert [ln.split(":")[0].strip() for ln in lines[1:]] == [
        "✔ integrity",
        "✔ merkle_proof",
        "✔ trust_anchor",
        "✔ anchor",
        "✔ issuer",
        "✔ revocation",
        "✔ expiry",
        "trust anchor",  # what the verdict rests on
    ]


def test_receipts_go_into_out_dir(sceau: Any, issuer: str, tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "pdfs", 2)
    issue(sceau, issuer, "--out", tmp_path / "receipts", *docs)
    receipt = tmp_path / "receipts" / (docs[0].name + ".receipt.json")
    assert receipt.exists() and not docs[0].with_name(docs[0].name + ".receipt.json").exists()
    code, verdict = verify(sceau, docs[0], "--receipt", receipt)
    assert code == 0, verdict


def test_a_tampered_document_is_not_authentic(sceau: Any, issuer: str, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path, 1)
    issue(sceau, issuer, doc)
    doc.write_bytes(doc.read_bytes() + b" mention tres bien")
    code, verdict = verify(sceau, doc)
    assert code == 1 and verdict["verdict"] == "tampered"
    assert checks(verdict)["integrity"] is False


def test_an_altered_receipt_is_caught_by_the_proof(sceau: Any, issuer: str, tmp_path: Path) -> None:
    docs = write_docs(tmp_path, 3)
    issue(sceau, issuer, *docs)
    receipt_path = docs[0].with_name(docs[0].name + ".receipt.json")
    receipt = json.loads(receipt_path.read_text())
    receipt["document"]["validUntil"] = receipt["document"]["validFrom"] + 10**9  # pretend a different expiry
    receipt_path.write_text(json.dumps(receipt))
    code, verdict = verify(sceau, docs[0])
    assert code == 1 and verdict["verdict"] == "tampered" and checks(verdict)["merkle_proof"] is False


def test_a_receipt_whose_root_was_never_anchored_is_unknown(sceau: Any, issuer: str, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path, 1)
    issue(sceau, issuer, doc)
    forged = never_anchored_receipt(doc)
    doc.with_name(doc.name + ".receipt.json").write_text(forged.to_json())
    code, verdict = verify(sceau, doc)
    assert code == 1 and verdict["verdict"] == "unknown" and checks(verdict)["anchor"] is False


def test_revoke_several_documents_of_a_batch_in_one_transaction(sceau: Any, issuer: str, tmp_path: Path) -> None:
    docs = write_docs(tmp_path, 4)
    issue(sceau, issuer, *docs)
    result = sceau(
        "revoke",
        "--issuer",
        issuer,
        "--reason",
        "fraud",
        "--json",
        docs[0],
        docs[2].with_name(docs[2].name + ".receipt.json"),
    )
    assert result.exit_code == 0, result.output
    [tx] = json.loads(result.output)
    assert sorted(tx["indices"]) == [0, 2]
    for i, doc in enumerate(docs):
        code, verdict = verify(sceau, doc)
        if i in (0, 2):
            assert code == 2 and verdict["verdict"] == "revoked"
            assert verdict["revocation"]["reason"] == "fraud"
            assert verdict["revocation"]["transactionHash"] == tx["transactionHash"]
        else:
            assert code == 0


def test_clerical_error_names_its_replacement(sceau: Any, issuer: str, tmp_path: Path) -> None:
    [old] = write_docs(tmp_path / "old", 1)
    [new] = write_docs(tmp_path / "new", 1)
    issue(sceau, issuer, old)
    issue(sceau, issuer, new)
    new_receipt = new.with_name(new.name + ".receipt.json")
    result = sceau("revoke", "--issuer", issuer, "--reason", "clerical_error", "--replaced-by", new_receipt, old)
    assert result.exit_code == 0, result.output
    code, verdict = verify(sceau, old)
    from verifier.core.receipt import Receipt

    assert (
        code == 2
        and verdict["revocation"]["replacedBy"] == "0x" + Receipt.from_json(new_receipt.read_bytes()).leaf.hex()
    )


def test_an_expired_title_exits_3(sceau: Any, chain: Chain, tmp_path: Path) -> None:
    name = unique("Préfecture du Rhône")
    assert sceau("issuer", "create", name, "--kind", "residence_permit").exit_code == 0
    [doc] = write_docs(tmp_path, 1, "titre")
    issue(sceau, name, "--valid-from", "2020-01-01", "--valid-until", "2021-12-31", doc)
    code, verdict = verify(sceau, doc)
    assert code == 3 and verdict["verdict"] == "expired"
    assert checks(verdict)["expiry"] is False and verdict["checks"][-1]["code"] == "validity.expired"
    assert "2021-12-31" in verdict["checks"][-1]["detail"]  # the last valid day, as the registrar typed it
    [fresh] = write_docs(tmp_path, 1, "titre-valide")
    issue(sceau, name, "--valid-until", "2099-12-31", fresh)
    code, verdict = verify(sceau, fresh)
    assert code == 0 and verdict["document"]["validUntil"] is not None


def test_suspended_issuer_stops_anchoring_and_back_dated_anchors_become_untrusted(
    sceau: Any, chain: Chain, tmp_path: Path
) -> None:
    name = unique("Université compromise")
    assert sceau("issuer", "create", name, "--kind", "diploma").exit_code == 0
    [before] = write_docs(tmp_path / "a", 1)
    issue(sceau, name, before)
    since = advance(chain.w3, 60)
    [forged] = write_docs(tmp_path / "b", 1)
    issue(sceau, name, forged)
    from datetime import UTC, datetime

    iso = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = sceau("issuer", "suspend", name, "--reason", "signing server breached", "--since", iso)
    assert result.exit_code == 0, result.output
    assert verify(sceau, before)[0] == 0
    code, verdict = verify(sceau, forged)
    assert code == 1 and verdict["verdict"] == "untrusted_issuer" and "suspended" in checks_detail(verdict)["issuer"]
    [late] = write_docs(tmp_path / "c", 1)
    result = sceau("issue", "--issuer", name, late)
    assert result.exit_code == 1 and "RegistryIssuerSuspended" in result.output
    assert not late.with_name(late.name + ".receipt.json").exists()
    listed = json.loads(sceau("issuer", "list", "--json").output)
    assert next(r for r in listed if r["name"] == name)["status"] == "suspended"


def test_a_key_that_is_not_accredited_cannot_issue(sceau: Any, tmp_path: Path) -> None:
    name = unique("École non accréditée")
    result = sceau("issuer", "create", name, "--kind", "diploma", "--no-accredit", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["issuerId"] is None
    [doc] = write_docs(tmp_path, 1)
    result = sceau("issue", "--issuer", name, doc)
    assert result.exit_code == 1 and "RegistryUnknownKey" in result.output
    listed = json.loads(sceau("issuer", "list", "--json").output)
    row = next(r for r in listed if r["name"] == name)
    assert row["status"] == "not accredited" and row["balanceWei"] > 0


def test_issuer_names_are_unique_and_kinds_checked(sceau: Any, issuer: str) -> None:
    result = sceau("issuer", "create", issuer, "--kind", "diploma")
    assert result.exit_code == 1 and "already exists" in result.output
    result = sceau("issuer", "create", unique("X"), "--kind", "spaceship")
    assert result.exit_code == 2 and "spaceship" in result.output


def test_the_root_names_an_accreditor_for_some_kinds(sceau: Any, chain: Chain) -> None:
    from eth_account import Account

    from verifier.core.kinds import kinds_mask

    address = Account.create().address
    result = sceau("accreditor", "add", "Ministère de l'Intérieur", address, "--kind", "residence_permit", "--json")
    assert result.exit_code == 0, result.output
    name, kinds = chain.registry.functions.accreditor(address).call()
    assert (name, kinds) == ("Ministère de l'Intérieur", kinds_mask(["residence_permit"]))
    result = sceau("accreditor", "add", "Nobody", "0x1234", "--kind", "diploma")
    assert result.exit_code == 1 and "not an address" in result.output


def test_an_identifier_already_held_is_refused_before_a_key_is_made(sceau: Any) -> None:
    uai = unique("0131842G-cli").replace(" ", "-")  # not a prefix the contract tests use
    assert sceau("issuer", "create", unique("Université A"), "--kind", "diploma", "--id", uai).exit_code == 0
    result = sceau("issuer", "create", unique("Université B"), "--kind", "diploma", "--id", uai)
    assert result.exit_code == 1 and f"already holds the identifier {uai!r}" in result.output


def test_every_command_has_help(sceau: Any) -> None:
    for args in (
        ["--help"],
        ["chain", "up", "--help"],
        ["chain", "down", "--help"],
        ["deploy", "--help"],
        ["accreditor", "add", "--help"],
        ["issuer", "create", "--help"],
        ["issuer", "suspend", "--help"],
        ["issuer", "list", "--help"],
        ["issue", "--help"],
        ["verify", "--help"],
        ["revoke", "--help"],
        ["serve", "--help"],
    ):
        result = sceau(*args)
        assert result.exit_code == 0 and "Usage:" in result.output, args


def test_passphrase_is_asked_when_not_in_the_environment(sceau: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("SCEAU_KEY_PASSPHRASE")
    name = unique("IUT interactif")
    result = sceau("issuer", "create", name, "--kind", "diploma", input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert "Keystore passphrase" in result.output
    [doc] = write_docs(tmp_path, 1)
    result = sceau("issue", "--issuer", name, doc, input="s3cret\n")
    assert result.exit_code == 0, result.output
    result = sceau("issue", "--issuer", name, doc, input="wrong\n")
    assert result.exit_code == 1 and "wrong passphrase" in result.output


def test_a_long_run_shows_progress(sceau: Any, issuer: str, tmp_path: Path) -> None:
    docs = write_docs(tmp_path, 250)
    result = sceau("issue", "--issuer", issuer, *docs)
    assert result.exit_code == 0
    assert "fingerprinting" in result.stderr
    code, _ = verify(sceau, docs[249])
    assert code == 0
