"""Issue 11: each document also as a W3C Verifiable Credential (Open Badges 3.0 for a diploma),
checked by Digital Bazaar's reference JavaScript stack and by Sceau's verifier, revoked once for
every copy (CREDENTIAL.md)."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from tests.conftest import PASSPHRASE, ROOT, Chain, unique

FIELDS = {"holder": "Jeanne Dupont", "degree": "Master de chimie", "mention": "Très bien", "number": "M26-042"}
STATUS_URL = "https://diplomes.univ.example"


@dataclass
class Issued:
    pdf: Path
    credential_path: Path
    credential: dict[str, Any]
    issuer_id: int
    home: Path


def js_verify(credential: dict[str, Any], status_list: dict[str, Any] | None = None) -> dict[str, Any]:
    """Digital Bazaar's verdict (tests/js/verify_vc.js), offline."""
    from verifier.credentials.linked_data import SCEAU_V1, context_document

    documents = {status_list["id"]: status_list} if status_list else {}
    payload = {"credential": credential, "contexts": {SCEAU_V1: context_document(SCEAU_V1)}, "documents": documents}
    run = subprocess.run(
        ["node", str(ROOT / "tests/js/verify_vc.js")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def published_list(issued: Issued) -> dict[str, Any]:
    from certifier.credentials.status_registry import published_path

    list_no = int(issued.credential["credentialStatus"]["statusListCredential"].rsplit("/", 1)[1])
    document: dict[str, Any] = json.loads(published_path(issued.issuer_id, list_no, issued.home).read_text())
    return document


def issue(chain: Chain, name: str, folder: Path, deployment: Any = None, base: Path | None = None) -> Issued:
    from certifier.credentials.issuing import issue_with_credentials
    from certifier.keys import keystore

    record = keystore.load(name, base)
    assert record.issuer_id is not None
    folder.mkdir(parents=True, exist_ok=True)
    pdf = folder / "dupont.pdf"
    pdf.write_bytes(b"%PDF-1.7 diplome de Jeanne Dupont " + str(time.time_ns()).encode())
    issued = issue_with_credentials(
        chain.w3,
        deployment or chain.deployment,
        record.unlock(PASSPHRASE),
        record,
        PASSPHRASE,
        [pdf],
        [FIELDS],
        kind=1,
        valid_from=int(time.time()) - 3600,
        status_base_url=STATUS_URL,
        base=base,
    )
    item = issued.items[0]
    return Issued(pdf, item.credential_path, item.credential, record.issuer_id, base or chain.home)


@pytest.fixture
def issued(chain: Chain, issuer: str, tmp_path: Path) -> Issued:
    return issue(chain, issuer, tmp_path)


def test_genuine_credential_is_verified_by_both_stacks(chain: Chain, issued: Issued, ministry: Any) -> None:
    from verifier.core.verdict import Outcome
    from verifier.credentials.didkey import public_key_of, registry_address
    from verifier.credentials.verify import verify_credential

    credential = issued.credential
    assert credential["type"] == ["VerifiableCredential", "AchievementCredential"]
    assert credential["credentialSubject"]["achievement"]["name"] == "Master de chimie"
    assert credential["credentialSubject"]["displayedFields"] == FIELDS
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert issued.pdf.with_name("dupont.pdf.receipt.json").exists()
    assert issued.pdf.with_name("dupont.pdf.credential.receipt.json").exists()

    js = js_verify(credential, published_list(issued))
    assert js["verified"] is True, js
    assert js["status"] == {"checked": True, "verified": True, "revoked": False, "error": None}

    verdict = verify_credential(issued.credential_path.read_bytes(), ministry)
    assert verdict.outcome is Outcome.VALID, verdict.to_dict()
    assert {c.id for c in verdict.checks} >= {
        "proof",
        "merkle_proof",
        "issuer",
        "credential_key",
        "document_revocation",
    }
    assert verdict.document["fields"] == FIELDS
    assert verdict.issuer is not None and verdict.issuer["id"] == issued.issuer_id
    # the did:key's derived address is the issuer's key in the registry (CREDENTIAL.md §4)
    address = registry_address(public_key_of(credential["issuer"]["id"]))
    assert address in chain.registry.functions.issuerKeys(issued.issuer_id).call()
    # the certified PDF in the same batch verifies as ever
    assert ministry.verify_path(issued.pdf, None).outcome is Outcome.VALID


def test_a_changed_field_is_refused_by_both(chain: Chain, issued: Issued, ministry: Any) -> None:
    from verifier.core.verdict import Outcome
    from verifier.credentials.verify import verify_credential

    forged = json.loads(json.dumps(issued.credential))
    forged["credentialSubject"]["displayedFields"]["mention"] = "Passable"
    assert js_verify(forged)["verified"] is False

    verdict = verify_credential(json.dumps(forged).encode(), ministry)
    assert verdict.outcome is Outcome.TAMPERED
    assert [c.ok for c in verdict.checks if c.id == "proof"] == [False]


def test_a_member_written_twice_is_refused_not_read_two_ways(chain: Chain, issued: Issued, ministry: Any) -> None:
    """A JSON reader that keeps the first of two members and one that keeps the last would see two
    credentials in one file: the verifier refuses such a file, as it refuses such a receipt."""
    from verifier.core.verdict import Outcome
    from verifier.credentials.verify import verify_credential

    genuine = issued.credential_path.read_bytes()
    doubled = genuine.replace(b'"credentialSubject":', b'"credentialSubject": {}, "credentialSubject":', 1)
    assert doubled != genuine
    verdict = verify_credential(doubled, ministry)
    assert verdict.outcome is Outcome.ERROR
    assert "duplicate field 'credentialSubject'" in verdict.to_dict()["error"]


def test_revoking_revokes_every_copy(chain: Chain, issuer: str, issued: Issued, service: Any, ministry: Any) -> None:
    from certifier.credentials.issuing import publish_status_lists, revoke_with_credentials
    from certifier.keys import keystore
    from certifier.keys.credential_keys import load_or_create
    from verifier.chain import Reason
    from verifier.core.verdict import Outcome
    from verifier.credentials.verify import verify_credential

    record = keystore.load(issuer)
    account = record.unlock(PASSPHRASE)
    data = issued.credential_path.read_bytes()
    (revoked,) = revoke_with_credentials(chain.w3, chain.deployment, account, [data], Reason.FRAUD)
    assert revoked.indices == (0, 1)  # the PDF and its credential, one transaction

    verdict = verify_credential(data, ministry)
    assert verdict.outcome is Outcome.REVOKED
    assert verdict.revocation is not None and verdict.revocation["reason"] == "fraud"
    document = ministry.verify_path(issued.pdf, None)
    assert document.outcome is Outcome.REVOKED and document.revocation is not None
    assert document.revocation["reason"] == "fraud"

    # the published list predates the revocation: the service refuses to serve it as current
    list_url = issued.credential["credentialStatus"]["statusListCredential"]
    path = list_url.removeprefix(STATUS_URL)
    assert service.client.get(path).status_code == 503
    publish_status_lists(chain.w3, chain.deployment, record, load_or_create(issuer, PASSPHRASE)[0])
    served = service.client.get(path)
    assert served.status_code == 200 and served.mimetype == "application/vc"
    status_list = served.get_json(force=True)
    assert status_list["reflectsBlock"]["number"] >= revoked.sent.block_number

    js = js_verify(issued.credential, status_list)
    assert js["verified"] is True  # the proof still holds: the status list says it is revoked
    assert js["status"] == {"checked": True, "verified": True, "revoked": True, "error": None}


def test_revoking_the_pdf_alone_revokes_its_credential(
    chain: Chain, issuer: str, issued: Issued, ministry: Any
) -> None:
    from certifier.chain.revoking import revoke
    from certifier.keys import keystore
    from verifier.chain import Reason
    from verifier.core.verdict import Outcome
    from verifier.credentials.verify import verify_credential
    from verifier.service import read_receipt_file

    receipt = read_receipt_file(issued.pdf.with_name("dupont.pdf.receipt.json"))
    revoke(chain.w3, chain.deployment, keystore.load(issuer).unlock(PASSPHRASE), [receipt], Reason.ANNULMENT)
    verdict = verify_credential(issued.credential_path.read_bytes(), ministry)
    assert verdict.outcome is Outcome.REVOKED
    assert verdict.revocation is not None and verdict.revocation["reason"] == "annulment"
    assert [c.ok for c in verdict.checks if c.id == "document_revocation"] == [False]


def test_a_did_key_of_a_forged_registry_is_untrusted(chain: Chain, tmp_path: Path, ministry: Any) -> None:
    """A forger deploys its own copy of the registry, accredits "Université de Lyon" in it and
    registers its did:key there: the signature holds, the reference stack says verified, and
    Sceau's verifier (trusting only the ministry's registry) says untrusted_issuer."""
    from certifier.chain.deployment import deploy, registry_contract
    from certifier.chain.transactions import Sender
    from certifier.config import DEV_ROOT_KEY
    from certifier.keys import keystore
    from verifier.core.kinds import kinds_mask
    from verifier.core.verdict import Outcome
    from verifier.credentials.verify import verify_credential

    forger_home = tmp_path / "forger"
    forger_home.mkdir()
    forged_deployment, _ = deploy(chain.w3, forger_home)
    contract = registry_contract(chain.w3, forged_deployment.registry)
    root = Sender(chain.w3, contract, Account.from_key(DEV_ROOT_KEY))
    name = unique("Université de Lyon")
    record = keystore.create(name, "0691774D", ("diploma",), PASSPHRASE, forger_home)
    root.transfer(record.address, 10**18, "funding the forger")
    sent = root.send(contract.functions.accreditIssuer(name, "0691774D", kinds_mask(["diploma"])), "accrediting")
    issuer_id = contract.events.IssuerAccredited().process_receipt(sent.receipt)[0]["args"]["issuerId"]
    root.send(contract.functions.addKey(issuer_id, record.address, 0, 0), "registering the forger's key")
    keystore.with_issuer_id(record, issuer_id, forger_home)

    forged = issue(chain, name, tmp_path / "docs", forged_deployment, forger_home)
    js = js_verify(forged.credential, published_list(forged))
    assert js["verified"] is True, js  # a valid signature says nothing of whom to trust
    verdict = verify_credential(forged.credential_path.read_bytes(), ministry)
    assert verdict.outcome is Outcome.UNTRUSTED_ISSUER


def test_did_key_and_status_list_encodings() -> None:
    from verifier.core.hashing import keccak256
    from verifier.credentials.didkey import did_key, public_key_of, registry_address
    from verifier.credentials.errors import InvalidDidKey
    from verifier.credentials.status_list import MIN_ENTRIES, decode, encode, is_set

    public = bytes(range(32))
    did = did_key(public)
    assert did.startswith("did:key:z6Mk") and public_key_of(did) == public
    assert registry_address(public).lower() == "0x" + keccak256(b"\xed\x01" + public)[-20:].hex()
    with pytest.raises(InvalidDidKey):
        public_key_of("did:web:univ.example")
    bits = decode(encode({0, 7, 8, MIN_ENTRIES - 1}))
    assert len(bits) == MIN_ENTRIES // 8 and bits[0] == 0b10000001 and bits[1] == 0b10000000
    assert is_set(bits, MIN_ENTRIES - 1) and not is_set(bits, 1)


def test_the_cli_issues_and_verifies_a_credential(chain: Chain, issuer: str, sceau: Any, tmp_path: Path) -> None:
    pdf = tmp_path / "martin.pdf"
    pdf.write_bytes(b"%PDF-1.7 releve de notes " + str(time.time_ns()).encode())
    made = sceau(
        "credential", "issue", "--issuer", issuer, "--kind", "transcript", "--field", "holder=Paul Martin", pdf
    )
    assert made.exit_code == 0, made.output
    credential = json.loads(pdf.with_name("martin.pdf.credential.json").read_text())
    assert credential["type"] == ["VerifiableCredential", "SceauCredential"]  # not a diploma: the plain profile
    checked = sceau("credential", "verify", "--json", pdf.with_name("martin.pdf.credential.json"))
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["verdict"] == "valid"


def test_the_cli_the_endpoint_and_the_page_take_a_credential_alone(
    chain: Chain, issued: Issued, service: Any, sceau: Any
) -> None:
    """An employer holding only the credential file: `sceau verify FILE`, the JSON endpoint and a
    paste on the page all give the one verdict of verify_credential."""
    result = sceau("verify", "--json", issued.credential_path)
    assert result.exit_code == 0 and json.loads(result.output)["verdict"] == "valid", result.output
    data = issued.credential_path.read_bytes()
    answer = service.client.post("/api/v1/verify", data=data, content_type="application/json").get_json()
    assert answer["verdict"] == "valid"
    page = service.client.post(
        "/verify", data={"lang": "fr", "seal": data.decode()}, content_type="multipart/form-data"
    ).get_data(as_text=True)
    assert "authentique" in page
    forged = json.loads(data)
    forged["credentialSubject"]["name"] = "Quelqu'un d'autre"
    answer = service.client.post("/api/v1/verify", json=forged).get_json()
    assert answer["verdict"] == "tampered"
