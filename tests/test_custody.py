"""Key custody: each issuer's own secret in a file only the service's user can read, keys held in
an HSM through PKCS#11 (SoftHSM2), and no key needed by the web processes (certified copies use
the seal the worker signed)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from certifier.keys import keystore
from certifier.keys.custody import Custody, KeyLocked, read_secrets, store_secret
from tests.conftest import Chain, Service, unique
from tests.pdfs import diploma_pdf
from tests.test_worker_faults import assert_exactly_once
from tests.test_worker_faults import submit as submit_api

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "246810"


def test_secrets_are_kept_0600_and_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = store_secret('Université d\'Été "2"', "passphrase", 'pa$$ "quoted" é', tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    store_secret("Other", "pin", "1234", tmp_path)
    assert read_secrets(tmp_path)["issuers"] == {
        'Université d\'Été "2"': {"passphrase": 'pa$$ "quoted" é'},
        "Other": {"pin": "1234"},
    }
    path.chmod(0o640)
    with pytest.raises(KeyLocked, match="chmod 600"):
        read_secrets(tmp_path)


def test_each_issuer_opens_with_its_own_passphrase_and_the_env_is_only_a_fallback(tmp_path: Path) -> None:
    a = keystore.create("Lycée A", "A", ("diploma",), "secret of a", tmp_path)
    b = keystore.create("Lycée B", "B", ("diploma",), "secret of b", tmp_path)
    keystore.create("Lycée C", "C", ("diploma",), "shared", tmp_path)
    store_secret("Lycée A", "passphrase", "secret of a", tmp_path)
    custody = Custody(tmp_path, environ={"SCEAU_KEY_PASSPHRASE": "shared"})
    assert custody.signer("Lycée A").address == a.address
    assert custody.signer("Lycée C").address  # from the environment
    with pytest.raises(KeyLocked, match="wrong passphrase for issuer 'Lycée B'.*secrets.toml"):
        custody.signer("Lycée B")
    store_secret("Lycée B", "passphrase", "secret of b", tmp_path)  # the file changed: tried again
    assert custody.signer("Lycée B").address == b.address
    (tmp_path / "secrets.toml").unlink()
    with pytest.raises(KeyLocked, match="no passphrase for issuer 'Lycée A'.*secrets.toml"):
        Custody(tmp_path, environ={}).signer("Lycée A")


# ---------------------------------------------------------------- PKCS#11 (SoftHSM2)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SoftHSM2 token of its own (SOFTHSM2_CONF is read once per process: set for the module)."""
    if not SOFTHSM.exists() or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2; `make debs`)")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    saved = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    label = "sceau-test"
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "13579"],
        check=True,
        capture_output=True,
    )
    yield label
    if saved is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = saved


def test_an_hsm_key_signs_transactions_that_recover_to_its_address(token: str, tmp_path: Path) -> None:
    from certifier.keys import hsm

    address = hsm.generate_key(str(SOFTHSM), token, PIN, "unit-key")
    location = {"module": str(SOFTHSM), "token": token, "label": "unit-key"}
    record = keystore.create_hsm("HSM school", "HSM", ("diploma",), address, location, tmp_path)
    with pytest.raises(KeyLocked, match="PIN"):
        hsm.open_signer(record, "000000", "")
    signer = hsm.open_signer(record, PIN, "")
    for nonce in range(8):  # both recovery ids and both halves of s come up
        tx = {
            "to": "0x" + "11" * 20,
            "value": 1,
            "nonce": nonce,
            "gas": 21000,
            "maxFeePerGas": 2 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "chainId": 31337,
            "data": b"",
        }
        signed = signer.sign_transaction({**tx, "from": address})
        assert Account.recover_transaction(signed.raw_transaction) == address
        assert signed.s <= 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
    with pytest.raises(KeyLocked, match="holds no single EC key"):
        hsm.open_signer(
            keystore.create_hsm("Nobody", "NB", ("diploma",), address, {**location, "label": "x"}, tmp_path), PIN, ""
        )


def test_an_issuer_whose_key_is_in_an_hsm_anchors_and_seals_and_the_web_needs_no_key(
    token: str, service: Service, chain: Chain, sceau: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from certifier.keys.custody import secrets_path
    from verifier.core.seal import Seal
    from verifier.pdf import open_certified

    name = unique("Université HSM")
    monkeypatch.delenv("SCEAU_PKCS11_PIN", raising=False)
    result = sceau("issuer", "create", name, "--kind", "diploma", "--hsm", token, input=f"{PIN}\n")
    assert result.exit_code == 0, result.output
    record = keystore.load(name)
    assert record.hsm is not None and record.hsm["token"] == token and record.keystore == {}
    assert read_secrets()["issuers"][name] == {"pin": PIN}
    auth = service.token(name)
    pdf = diploma_pdf("Diplome HSM - Ada Lovelace")
    upload = service.client.post(
        "/api/v1/documents",
        data={"file": (io.BytesIO(pdf), "d.pdf"), "fields": '{"holder": "Ada Lovelace"}'},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 202, upload.get_json()
    [doc] = upload.get_json()["documents"]
    ids, digests = submit_api(service, auth, 2)
    service.client.post("/api/v1/batches", headers=auth)
    worker = service.worker()
    worker.only = {name}
    worker.run_until_idle()
    assert_exactly_once(service, chain.url, name, auth, [doc["id"], *ids], [hashlib.sha256(pdf).digest(), *digests])
    monkeypatch.delenv("SCEAU_KEY_PASSPHRASE")  # the web side has no secret at all
    secrets_path().rename(secrets_path().with_suffix(".away"))
    try:
        copy = service.client.get(f"/api/v1/documents/{doc['id']}/certified.pdf", headers=auth)
    finally:
        secrets_path().with_suffix(".away").rename(secrets_path())
    assert copy.status_code == 200, copy.get_data(as_text=True)
    certified = open_certified(copy.data)
    assert certified is not None and certified.original == pdf and certified.seal_text is not None
    seal = Seal.decode(certified.seal_text)
    assert seal.signer() == record.address and seal.fields == {"holder": "Ada Lovelace"}
