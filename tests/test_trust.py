"""A verdict of "authentic" survives a forger who controls everything but the verifier's trust
anchors: each attack of the trust issue, driven through the real CLI, HTTP endpoint, page and bulk
check against anvil."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from certifier.chain.deployment import registry_contract
from certifier.chain.merkle_batch import MerkleBatch
from certifier.chain.transactions import Sender
from certifier.service.app import create_app
from tests.chainhelpers import Actor, actor, advance, latest_time
from tests.conftest import Chain, free_port, run_sceau, seal_args, unique, write_docs
from verifier.artifacts import load_artifact
from verifier.core.receipt import Receipt

ZERO = "0x" + "00" * 20
LYON = ("Université de Lyon", "0691774D")


def verify_json(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """`sceau-verify`, the verifier installed alone, as an employer runs it."""
    out = run_sceau("verify", "--json", *args, env=env)
    return out.returncode, json.loads(out.stdout)


def checks(verdict: dict[str, Any]) -> dict[str, bool | None]:
    return {c["id"]: c["ok"] for c in verdict["checks"]}


@pytest.fixture
def client(chain: Chain, tmp_path: Path) -> Iterator[Any]:
    app = create_app({"TESTING": True, "SCEAU_RPC_URL": chain.url, "SCEAU_STORAGE": str(tmp_path / "s")})
    yield app.test_client()
    app.extensions["sceau"].dispose()


def forger_registry(chain: Chain) -> tuple[Actor, Any]:
    """What anyone can do: deploy a copy of the public AnchorRegistry artifact, be its root
    authority, and accredit a famous university under its real name and identifier."""
    forger = actor(chain.w3, chain.registry)
    artifact = load_artifact()
    factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    sent = Sender(chain.w3, chain.registry, forger.account).send(
        factory.constructor(0, forger.address, "Ministère de l'Enseignement supérieur", ZERO), "forger's registry"
    )
    fake = registry_contract(chain.w3, sent.receipt["contractAddress"])
    as_root = Actor(forger.account, Sender(chain.w3, fake, forger.account))
    as_root.send(fake.functions.accreditIssuer(*LYON, 1 << 1))
    as_root.send(fake.functions.addKey(1, forger.address, 0, 0))
    return as_root, fake


def forged_doctorate(chain: Chain, tmp_path: Path) -> tuple[Path, str]:
    forger, fake = forger_registry(chain)
    doc = tmp_path / "doctorat.pdf"
    doc.write_bytes(b"%PDF-1.7 Doctorat en physique - Jean Faussaire")
    batch = MerkleBatch.build([hashlib.sha256(doc.read_bytes()).digest()], 1, latest_time(chain.w3) - 60)
    sent = forger.send(fake.functions.anchor(batch.root, 1, 1))
    [receipt] = batch.receipts(
        chain_id=chain.w3.eth.chain_id,
        registry=fake.address,
        transaction_hash=sent.transaction_hash,
        block_number=sent.block_number,
        block_hash=sent.block_hash,
        issuer_key=forger.address,
    )
    doc.with_name(doc.name + ".receipt.json").write_text(receipt.to_json())
    return doc, fake.address


def test_a_copy_of_the_registry_never_makes_a_document_authentic(
    chain: Chain, client: Any, sceau: Any, tmp_path: Path
) -> None:
    doc, fake = forged_doctorate(chain, tmp_path)
    # the CLI
    code, verdict = verify_json(doc)
    assert code == 1 and verdict["verdict"] == "untrusted_issuer", verdict
    assert verdict["issuer"] is None and verdict["trustAnchor"] is None  # "Université de Lyon" is never shown
    [trust] = [c for c in verdict["checks"] if c["id"] == "trust_anchor"]
    assert trust["ok"] is False and trust["code"] == "trust_anchor.untrusted"
    assert trust["params"]["registry"] == fake and "does not trust" in trust["detail"]
    # the HTTP endpoint, by upload and by fingerprint
    receipt = doc.with_name(doc.name + ".receipt.json").read_bytes()
    answer = client.post(
        "/api/v1/verify",
        data={"file": (doc.open("rb"), doc.name), "receipt": (io.BytesIO(receipt), "r.json")},
        content_type="multipart/form-data",
    ).get_json()
    assert answer["verdict"] == "untrusted_issuer"
    digest = hashlib.sha256(doc.read_bytes()).hexdigest()
    answer = client.post("/api/v1/verify", json={"sha256": digest, "receipt": json.loads(receipt)}).get_json()
    assert answer["verdict"] == "untrusted_issuer"
    # the page
    page = client.post(
        "/verify",
        data={"lang": "en", "file": (doc.open("rb"), doc.name), "receipt": (io.BytesIO(receipt), "r.json")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Not authentic" in page and "Université de Lyon" not in page
    # bulk
    folder = tmp_path / "bulk"
    folder.mkdir()
    (folder / doc.name).write_bytes(doc.read_bytes())
    (folder / (doc.name + ".receipt.json")).write_bytes(receipt)
    out = run_sceau("verify", "--bulk", folder, "--format", "json")
    assert out.returncode == 1
    [line] = json.loads(out.stdout)["documents"]
    assert line["verdict"] == "untrusted_issuer"
    # and no reader, connection or cache entry was made for the forger's registry
    verifier = client.application.extensions["sceau_verifier"]
    assert all(a.registry != fake for a in verifier._readers)


def test_a_revoked_diploma_is_not_revived_by_anchoring_it_again_elsewhere(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    [doc] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", issuer, doc).exit_code == 0
    assert sceau("revoke", "--issuer", issuer, "--reason", "fraud", doc).exit_code == 0
    genuine = Receipt.from_json(doc.with_name(doc.name + ".receipt.json").read_bytes())
    forger, fake = forger_registry(chain)
    sent = forger.send(fake.functions.anchor(genuine.anchor.root, genuine.anchor.document_count, 1))
    revived = Receipt(
        genuine.chain_id,
        fake.address,
        genuine.anchor.__class__(
            genuine.anchor.root,
            sent.transaction_hash,
            sent.block_number,
            sent.block_hash,
            forger.address,
            genuine.anchor.document_count,
        ),
        genuine.document,
        genuine.proof,
    )
    doc.with_name(doc.name + ".receipt.json").write_text(revived.to_json())
    code, verdict = verify_json(doc)
    assert code == 1 and verdict["verdict"] == "untrusted_issuer"


def test_a_contract_that_answers_yes_to_everything_is_never_asked(chain: Chain, tmp_path: Path) -> None:
    # runtime: twenty words of 1 in memory, returned whatever is asked
    runtime = b"".join(bytes([0x60, 1, 0x61, (i * 32) >> 8, (i * 32) & 255, 0x52]) for i in range(20))
    runtime += bytes([0x61, 0x02, 0x80, 0x60, 0x00, 0xF3])
    init = bytes([0x60, len(runtime), 0x80, 0x60, 0x0B, 0x60, 0x00, 0x39, 0x60, 0x00, 0xF3]) + runtime
    yes_man = actor(chain.w3, chain.registry)
    tx = {
        "from": yes_man.address,
        "data": "0x" + init.hex(),
        "nonce": chain.w3.eth.get_transaction_count(yes_man.address),
        "gas": 200_000,
        "chainId": chain.w3.eth.chain_id,
        "maxFeePerGas": chain.w3.eth.gas_price * 2 + 1,
        "maxPriorityFeePerGas": 1,
    }
    sent = yes_man.sender.send_raw(tx, "the yes-man contract")
    assert len(chain.w3.eth.get_code(sent.receipt["contractAddress"])) == len(runtime)
    address = sent.receipt["contractAddress"]
    doc = tmp_path / "any.pdf"
    doc.write_bytes(b"%PDF-1.7 anything")
    batch = MerkleBatch.build([hashlib.sha256(doc.read_bytes()).digest()], 1, 0)
    [receipt] = batch.receipts(
        chain_id=chain.w3.eth.chain_id,
        registry=address,
        transaction_hash=b"\1" * 32,
        block_number=1,
        block_hash=b"\2" * 32,
        issuer_key=yes_man.address,
    )
    doc.with_name(doc.name + ".receipt.json").write_text(receipt.to_json())
    code, verdict = verify_json(doc)
    assert code == 1 and verdict["verdict"] == "untrusted_issuer"


def test_a_verifier_with_no_trust_anchors_refuses_to_give_a_verdict(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    [doc] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", issuer, doc).exit_code == 0
    code, verdict = verify_json(doc, env={"SCEAU_HOME": str(tmp_path / "empty-home")})
    assert code == 4 and verdict["verdict"] == "error"
    assert "no trust anchors" in verdict["error"] and "--trust-anchors" in verdict["error"]
    # given explicitly, the anchors written by `sceau deploy` work from anywhere
    anchors = chain.home / "trust-anchors.json"
    code, verdict = verify_json(doc, "--trust-anchors", anchors, env={"SCEAU_HOME": str(tmp_path / "empty-home")})
    assert code == 0 and verdict["verdict"] == "valid"
    assert verdict["trustAnchor"]["registry"] == chain.deployment.registry
    assert verdict["trustAnchor"]["genesisHash"] == chain.deployment.genesis_hash


def test_another_chain_on_the_same_endpoint_gives_no_verdict(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    """Two dev chains share chain id 31337: the genesis hash tells them apart, and a verifier
    pointed at the wrong one says "could not decide", never "not authentic"."""
    from certifier.chain import localchain

    [doc] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", issuer, doc).exit_code == 0
    other_home = tmp_path / "other"
    other = localchain.up(free_port(), base=other_home)
    try:
        code, verdict = verify_json(doc, "--rpc-url", other.url)
        assert code == 4 and verdict["verdict"] == "error"
        assert "genesis block" in verdict["error"] and "another chain" in verdict["error"]
    finally:
        localchain.down(other_home)
    code, verdict = verify_json(doc, "--rpc-url", f"http://127.0.0.1:{free_port()}")  # nothing listens
    assert code == 4 and verdict["verdict"] == "error"


def test_healthz_says_which_trust_anchor_verdicts_rest_on(chain: Chain, client: Any) -> None:
    answer = client.get("/healthz").get_json()
    assert [a["registry"] for a in answer["trustAnchors"]] == [chain.deployment.registry]


def test_a_document_not_yet_valid_is_not_valid_today(sceau: Any, issuer: str, tmp_path: Path) -> None:
    [doc] = write_docs(tmp_path, 1)
    later = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 400 * 86400))
    assert sceau("issue", "--issuer", issuer, "--valid-from", later, doc).exit_code == 0
    code, verdict = verify_json(doc)
    assert code == 5 and verdict["verdict"] == "not_yet_valid"
    assert checks(verdict)["expiry"] is False


def test_duplicate_members_are_refused_in_the_json_body_too(chain: Chain, client: Any) -> None:
    body = '{"sha256": "' + "00" * 32 + '", "sha256": "' + "11" * 32 + '", "receipt": {}}'
    answer = client.post("/api/v1/verify", data=body, content_type="application/json")
    assert answer.status_code == 400 and "duplicate field 'sha256'" in answer.get_json()["error"]


# ---------------------------------------------------------------- seals bind what the paper says


def certified_with_fields(sceau: Any, issuer: str, tmp_path: Path, *fields: str) -> tuple[Path, str]:
    from tests.pdfs import diploma_pdf
    from verifier.pdf import open_certified

    original = tmp_path / "martin.pdf"
    original.write_bytes(diploma_pdf("Master de chimie - Jeanne Martin"))
    args = [a for f in fields for a in ("--field", f)]
    result = sceau("issue", "--issuer", issuer, "--certified-pdf", *args, "--json", original)
    assert result.exit_code == 0, result.output
    [path] = json.loads(result.output)["certifiedPdfs"]
    certified = open_certified(Path(path).read_bytes())
    assert certified is not None and certified.seal_text is not None
    return Path(path), certified.seal_text


def test_a_genuine_qr_on_a_forged_paper_shows_the_words_the_paper_must_carry(
    sceau: Any, issuer: str, tmp_path: Path
) -> None:
    _, seal = certified_with_fields(
        sceau, issuer, tmp_path, "holder=Jeanne Martin", "degree=Master de chimie", "number=2026-0042"
    )
    code, verdict = verify_json("--seal", seal)
    assert code == 0 and verdict["verdict"] == "valid", verdict
    assert verdict["document"]["fields"] == {
        "degree": "Master de chimie",
        "holder": "Jeanne Martin",
        "number": "2026-0042",
    }
    assert "integrity" not in checks(verdict)  # no document was hashed, so none is claimed intact
    assert checks(verdict)["fields"] is True
    shown = run_sceau("verify", "--seal", seal)
    assert shown.returncode == 0, shown.stderr
    human = shown.stdout
    assert human.index("Holder: Jeanne Martin") < human.index("merkle_proof")  # the words come first


def test_a_seal_that_binds_no_displayed_content_is_never_authentic_on_its_own(
    sceau: Any, issuer: str, tmp_path: Path
) -> None:
    _, seal = certified_with_fields(sceau, issuer, tmp_path)
    code, verdict = verify_json("--seal", seal)
    assert code == 7 and verdict["verdict"] == "seal_only"
    assert "integrity" not in checks(verdict) and checks(verdict)["fields"] is None
    assert verdict["checks"][0]["code"] == "fields.none"
    shown = run_sceau("verify", "--seal", seal)
    assert shown.returncode == 7, shown.stderr  # as with --json
    human = shown.stdout
    assert human.startswith("SEAL ONLY") and "VALID" not in human


def test_a_thief_with_the_issuers_key_cannot_change_the_words_on_a_genuine_seal(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    from certifier.keys import keystore
    from tests.conftest import PASSPHRASE
    from verifier.core.seal import Seal

    _, text = certified_with_fields(sceau, issuer, tmp_path, "holder=Jeanne Martin", "degree=Licence")
    seal = Seal.decode(text)
    stolen = keystore.load(issuer).unlock(PASSPHRASE)
    forged = Seal(
        seal.chain_id,
        seal.registry,
        seal.root,
        seal.anchored_at,
        seal.document,
        seal.proof,
        {"holder": "Jeanne Martin", "degree": "Doctorat"},
    ).signed(stolen.key)
    code, verdict = verify_json("--seal", forged.encode())
    assert code == 1 and verdict["verdict"] == "tampered"
    assert checks(verdict) == {"fields": False}


def test_a_seal_re_signed_by_another_key_is_unknown_online(sceau: Any, issuer: str, tmp_path: Path) -> None:
    from verifier.core.seal import Seal

    _, text = certified_with_fields(sceau, issuer, tmp_path, "holder=Paul Durand")
    seal = Seal.decode(text)
    resigned = Seal(
        seal.chain_id, seal.registry, seal.root, seal.anchored_at, seal.document, seal.proof, seal.fields
    ).signed(Account.create().key)
    code, verdict = verify_json("--seal", resigned.encode())
    assert code == 1 and verdict["verdict"] == "unknown"  # that key never anchored this root


def test_the_qr_can_be_a_link_any_phone_camera_opens(sceau: Any, issuer: str, tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    from verifier.core.seal import Seal

    png = tmp_path / "permit.png"
    result = run_sceau(
        *seal_args(issuer, png, "holder=Léa Rousseau"), env={"SCEAU_VERIFIER_URL": "https://verifier.example.fr"}
    )
    assert result.returncode == 0, result.stderr
    [decoded] = zxingcpp.read_barcodes(Image.open(png))
    assert decoded.text.startswith("https://verifier.example.fr/#SC1:")
    assert Seal.decode(decoded.text) == Seal.decode(json.loads(result.stdout)["seal"])
    code, verdict = verify_json("--seal", decoded.text)
    assert code == 0 and verdict["document"]["fields"] == {"holder": "Léa Rousseau"}


# ---------------------------------------------------------------- offline: a signed trust list


def export_trust_list(tmp_path: Path, name: str = "trust.json", *args: str) -> Path:
    path = tmp_path / name
    out = run_sceau("trustlist", "export", "--out", path, *args)
    assert out.returncode == 0, out.stderr
    return path


def test_offline_a_seal_is_never_a_bare_valid(sceau: Any, issuer: str, tmp_path: Path) -> None:
    _, seal = certified_with_fields(sceau, issuer, tmp_path, "holder=Nina Perrin")
    trust = export_trust_list(tmp_path)
    code, verdict = verify_json("--seal", seal, "--offline", "--trust-list", trust)
    assert code == 6 and verdict["verdict"] == "valid_revocation_unchecked", verdict
    assert checks(verdict)["revocation"] is None
    shown = run_sceau("verify", "--seal", seal, "--offline", "--trust-list", trust)
    assert shown.returncode == 6, shown.stderr  # as with --json
    human = shown.stdout
    assert "REVOCATION NOT CHECKED" in human.splitlines()[0] and not human.startswith("VALID")


def test_a_trust_list_unsigned_altered_or_signed_by_another_key_is_refused(
    sceau: Any, issuer: str, tmp_path: Path
) -> None:
    from eth_account.messages import encode_defunct

    from verifier.trustlist import canonical_body

    _, seal = certified_with_fields(sceau, issuer, tmp_path, "holder=Nina Perrin")
    body = json.loads(export_trust_list(tmp_path).read_text())
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    altered = {**body, "issuers": [{**body["issuers"][0], "name": "Université de Lyon"}, *body["issuers"][1:]]}
    other = Account.create()
    resigned = {
        **altered,
        "signature": "0x"
        + bytes(Account.sign_message(encode_defunct(primitive=canonical_body(altered)), other.key).signature).hex(),
    }
    for name, forged, expected in (
        ("unsigned", unsigned, "not signed"),
        ("altered", altered, "not by the root authority"),
        ("resigned", resigned, "not by the root authority"),
    ):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(forged))
        code, verdict = verify_json("--seal", seal, "--offline", "--trust-list", path)
        assert code == 4 and verdict["verdict"] == "error" and expected in verdict["error"], (name, verdict)


def test_an_older_or_stale_trust_list_is_refused(chain: Chain, sceau: Any, issuer: str, tmp_path: Path) -> None:
    _, seal = certified_with_fields(sceau, issuer, tmp_path, "holder=Nina Perrin")
    home = {"SCEAU_HOME": str(chain.home)}
    old = export_trust_list(tmp_path, "old.json")
    advance(chain.w3, 10)
    new = export_trust_list(tmp_path, "new.json")
    assert verify_json("--seal", seal, "--offline", "--trust-list", new, env=home)[0] == 6
    code, verdict = verify_json("--seal", seal, "--offline", "--trust-list", old, env=home)
    assert code == 4 and "older than" in verdict["error"]
    stale = export_trust_list(tmp_path, "stale.json", "--valid-days", "0.01")
    code, verdict = verify_json("--seal", seal, "--offline", "--trust-list", stale)
    assert code == 6  # fresh for a quarter of an hour
    body = json.loads(stale.read_text())
    assert body["nextUpdate"] - body["issuedAt"] == 864


def test_a_stolen_key_cannot_back_date_seals_offline(chain: Chain, sceau: Any, tmp_path: Path) -> None:
    """A thief signs a seal over a genuine root with a time before the declared compromise: offline,
    only the chain could tell, so the verifier sends the person online."""
    from certifier.keys import keystore
    from tests.chainhelpers import root_actor
    from tests.conftest import PASSPHRASE
    from verifier.core.seal import Seal

    victim = unique("Université volée")
    assert sceau("issuer", "create", victim, "--kind", "diploma", "--id", unique("0999")).exit_code == 0
    _, text = certified_with_fields(sceau, victim, tmp_path, "holder=Vrai Titulaire")
    seal = Seal.decode(text)
    stolen = keystore.load(victim).unlock(PASSPHRASE)
    now = advance(chain.w3, 100)
    root = root_actor(chain.w3, chain.registry)
    root.send(chain.registry.functions.endKeyValidity(stolen.address, now - 50, True))
    backdated = Seal(
        seal.chain_id, seal.registry, seal.root, seal.anchored_at, seal.document, seal.proof, seal.fields
    ).signed(stolen.key)
    trust = export_trust_list(tmp_path)
    code, verdict = verify_json("--seal", backdated.encode(), "--offline", "--trust-list", trust)
    assert code == 4 and verdict["verdict"] == "error" and "check online" in verdict["error"]
    # online, the genuine seal (anchored before the compromise) still stands
    code, verdict = verify_json("--seal", text)
    assert code == 0, verdict


def test_a_successor_registry_keeps_old_receipts_verifying(tmp_path: Path) -> None:
    """Registry succession: the new deployment names its predecessor; the trust anchors carry both,
    so a diploma anchored in the old registry still verifies, and nothing else is trusted."""
    from certifier.chain import localchain

    home = tmp_path / "home"
    node = localchain.up(free_port(), base=home)
    env = {
        "SCEAU_HOME": str(home),
        "SCEAU_RPC_URL": node.url,
        "SCEAU_KEY_PASSPHRASE": "avant",
        "SCEAU_SCRYPT_N": "2048",
        "SCEAU_TRUST_ANCHORS": "",
    }
    try:
        assert run_sceau("deploy", env=env).returncode == 0
        old = json.loads((home / "deployment.json").read_text())["registry"]
        assert run_sceau("issuer", "create", "Université d'Avant", "--kind", "diploma", env=env).returncode == 0
        [doc] = write_docs(tmp_path / "docs", 1)
        assert run_sceau("issue", "--issuer", "Université d'Avant", doc, env=env).returncode == 0
        out = run_sceau("deploy", "--predecessor", old, env=env)
        assert out.returncode == 0, out.stderr
        anchors = json.loads((home / "trust-anchors.json").read_text())["anchors"]
        new = json.loads((home / "deployment.json").read_text())["registry"]
        assert [a["registry"] for a in anchors] == [new, old] and anchors[0]["predecessor"] == old
        code, verdict = verify_json(doc, env=env)
        assert code == 0 and verdict["verdict"] == "valid" and verdict["trustAnchor"]["registry"] == old
        # a verifier given only the new registry's anchor does not trust the old one
        only_new = tmp_path / "only-new.json"
        only_new.write_text(
            json.dumps({"mediaType": "application/vnd.sceau.trust-anchors.v1+json", "anchors": anchors[:1]})
        )
        code, verdict = verify_json(doc, "--trust-anchors", only_new, env=env)
        assert code == 1 and verdict["verdict"] == "untrusted_issuer"
    finally:
        localchain.down(home)


def test_a_later_update_redrawing_the_seal_over_the_page_is_tampering(
    sceau: Any, issuer: str, tmp_path: Path, client: Any
) -> None:
    from tests.pdfs import overlay_seal

    copy, _ = certified_with_fields(sceau, issuer, tmp_path, "holder=Jeanne Martin")
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(overlay_seal(copy.read_bytes(), "Doctorat de chimie"))
    code, verdict = verify_json(forged)
    assert code == 1 and verdict["verdict"] == "tampered"
    assert "changed after Sceau certified it" in verdict["checks"][0]["detail"]
    page = client.post(
        "/verify",
        data={"lang": "fr", "file": (forged.open("rb"), forged.name)},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "non authentique" in page


def test_narrowing_an_issuers_kinds_later_leaves_its_old_diplomas_valid(
    chain: Chain, sceau: Any, issuer: str, tmp_path: Path
) -> None:
    from certifier.keys import keystore
    from tests.chainhelpers import root_actor

    [doc] = write_docs(tmp_path, 1)
    assert sceau("issue", "--issuer", issuer, "--kind", "diploma", doc).exit_code == 0
    issuer_id = keystore.load(issuer).issuer_id
    root_actor(chain.w3, chain.registry).send(chain.registry.functions.setIssuerKinds(issuer_id, 1 << 3))
    code, verdict = verify_json(doc)
    assert code == 0 and verdict["verdict"] == "valid"  # "from now on" means from now on
    [late] = write_docs(tmp_path / "late", 1)
    refused = sceau("issue", "--issuer", issuer, "--kind", "diploma", late)
    assert refused.exit_code == 1 and "RegistryKindNotPermitted" in refused.output
