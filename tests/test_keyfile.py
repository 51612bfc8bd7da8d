"""Opening keystores without eth-account (certifier/keys/keyfile.py), held to eth-account's own
decryption, and the start of the anchoring worker: every key opened before anything else."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from certifier.keys import keystore
from certifier.keys.custody import Custody, KeyLocked, store_secret
from certifier.keys.keyfile import BadKeystore, MacMismatch, decrypt
from verifier.core.hashing import checksum_address

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_a_keystore_eth_account_wrote_opens_to_the_same_key(kdf: str) -> None:
    made = Account.encrypt(KEY, "pass phrase é", kdf=kdf, iterations=2048 if kdf == "scrypt" else 1000)
    assert decrypt(made, "pass phrase é") == KEY == Account.decrypt(made, "pass phrase é")


def test_a_wrong_passphrase_or_an_altered_ciphertext_fails_the_mac() -> None:
    made = Account.encrypt(KEY, "right", kdf="scrypt", iterations=1024)
    with pytest.raises(MacMismatch):
        decrypt(made, "wrong")
    altered = copy.deepcopy(made)
    text = altered["crypto"]["ciphertext"]
    altered["crypto"]["ciphertext"] = ("0" if text[0] != "0" else "1") + text[1:]
    with pytest.raises(MacMismatch):
        decrypt(altered, "right")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda c: c.update(kdf="argon2"), "KDF is 'argon2'"),
        (lambda c: c.update(cipher="aes-256-cbc"), "cipher is 'aes-256-cbc'"),
        (lambda c: c["kdfparams"].pop("salt"), "kdfparams are incomplete"),
        (lambda c: c["kdfparams"].update(dklen=16), "derived key is 16 bytes"),
        (lambda c: c["cipherparams"].update(iv="00"), "iv is 1 bytes"),
    ],
)
def test_a_keystore_of_another_kind_is_refused_by_name(change: Any, said: str) -> None:
    made = Account.encrypt(KEY, "right", kdf="scrypt", iterations=1024)
    change(made["crypto"])
    with pytest.raises(BadKeystore, match=said):
        decrypt(made, "right")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=20, max_size=20))
def test_checksum_address_is_eip55_as_eth_utils_says(raw: bytes) -> None:
    assert checksum_address(raw) == checksum_address("0x" + raw.hex().upper()) == to_checksum_address(raw)


@pytest.mark.parametrize("bad", ["0x1234", "0x" + "g" * 40, "", b"\x00" * 19])
def test_checksum_address_refuses_what_is_not_an_address(bad: str | bytes) -> None:
    with pytest.raises(ValueError):
        checksum_address(bad)


def test_the_worker_opens_every_key_at_once_and_says_each_failure_once(tmp_path: Path) -> None:
    a = keystore.create("Lycée A", "A", ("diploma",), "secret of a", tmp_path)
    keystore.create("Lycée B", "B", ("diploma",), "not this one", tmp_path)
    store_secret("Lycée A", "passphrase", "secret of a", tmp_path)
    derived: list[str] = []
    real = keystore.IssuerKey.private_key

    def counting(self: keystore.IssuerKey, passphrase: str) -> bytes:
        derived.append(self.name)
        return real(self, passphrase)

    custody = Custody(tmp_path, environ={"SCEAU_KEY_PASSPHRASE": "shared"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(keystore.IssuerKey, "private_key", counting)
        failures = custody.open_all()
        assert [str(f) for f in failures] == [
            "wrong passphrase for issuer 'Lycée B' (from SCEAU_KEY_PASSPHRASE): put its own passphrase in "
            f'{tmp_path / "secrets.toml"} as [issuers."Lycée B"] passphrase = "…"'
        ]
        assert sorted(derived) == ["Lycée A", "Lycée B"]
        assert custody.signer("Lycée A").address == a.address  # opened already: no KDF again
        with pytest.raises(KeyLocked, match="wrong passphrase for issuer 'Lycée B'"):
            custody.signer("Lycée B")  # the failure remembered: no KDF again either
        assert sorted(derived) == ["Lycée A", "Lycée B"]
        store_secret("Lycée B", "passphrase", "not this one", tmp_path)  # its secret given: tried again
        assert (
            custody.signer("Lycée B").address
            == json.loads((tmp_path / "issuers" / "lycee-b.json").read_text())["address"]
        )
