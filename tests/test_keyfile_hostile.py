"""Red team of certifier/keys/keyfile.py and Custody.open_all: a keystore whose parameters would
make the KDF hang, take gigabytes or fail inside hashlib is refused by name (BadKeystore) before
any KDF runs; one keystore that cannot be opened holds its issuer only, never the worker's start.

The KDF is replaced by a tripwire in the parameter tests: a hostile keystore must be refused
before it, and a test never spends the memory or the minutes such a keystore asks for."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from certifier.keys import keyfile
from certifier.keys.keyfile import BadKeystore, MacMismatch, decrypt
from verifier.core.errors import SceauError

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
SCRYPT = Account.encrypt(KEY, "right", kdf="scrypt", iterations=1024)
PBKDF2 = Account.encrypt(KEY, "right", kdf="pbkdf2", iterations=1000)


class KdfRan(AssertionError):
    pass


@pytest.fixture
def tripwire(monkeypatch: pytest.MonkeyPatch) -> None:
    """hashlib as keyfile.py sees it, but a KDF call fails the test."""

    class Hashlib:
        def scrypt(self, *_: Any, **kw: Any) -> bytes:
            raise KdfRan(f"scrypt ran with {kw}")

        def pbkdf2_hmac(self, *args: Any, **_: Any) -> bytes:
            raise KdfRan(f"pbkdf2 ran with {args[3:]}")

    monkeypatch.setattr(keyfile, "hashlib", Hashlib())


def _with(base: dict[str, Any], **params: Any) -> dict[str, Any]:
    made = copy.deepcopy(base)
    made["crypto"]["kdfparams"].update(params)
    return made


HOSTILE = [
    # scrypt: memory = 128·r·n·p; eth-account and geth write n = 2^18, r = 8, p = 1 (256 MiB)
    pytest.param(_with(SCRYPT, n=2**40), id="scrypt n=2^40 (ValueError from hashlib's maxmem)"),
    pytest.param(_with(SCRYPT, n=2**70), id="scrypt n=2^70 (OverflowError)"),
    pytest.param(_with(SCRYPT, n=2**20), id="scrypt n=2^20 (1 GiB, accepted by hashlib)"),
    pytest.param(_with(SCRYPT, n=2**23, r=1), id="scrypt n=2^23 r=1 (1 GiB)"),
    pytest.param(_with(SCRYPT, n=1000), id="scrypt n not a power of 2"),
    pytest.param(_with(SCRYPT, n=0), id="scrypt n=0"),
    pytest.param(_with(SCRYPT, n=-1024), id="scrypt n<0 (TypeError)"),
    pytest.param(_with(SCRYPT, n=True), id="scrypt n=true"),
    pytest.param(_with(SCRYPT, n=float("inf")), id="scrypt n=Infinity (json.loads reads it)"),
    pytest.param(_with(SCRYPT, r=0), id="scrypt r=0"),
    pytest.param(_with(SCRYPT, p=0), id="scrypt p=0"),
    pytest.param(_with(SCRYPT, p=10**9), id="scrypt p=10^9"),
    pytest.param(_with(SCRYPT, n=2, r=2**20), id="scrypt r=2^20"),
    pytest.param(_with(SCRYPT, dklen=2**40), id="scrypt dklen=2^40"),
    pytest.param(_with(SCRYPT, dklen=2**30), id="scrypt dklen=2^30 (1 GiB of output)"),
    pytest.param(_with(SCRYPT, dklen=float("inf")), id="scrypt dklen=Infinity"),
    # pbkdf2: eth-keyfile writes c = 10^6
    pytest.param(_with(PBKDF2, c=2**31 - 1), id="pbkdf2 c=2^31-1 (a quarter of an hour of CPU)"),
    pytest.param(_with(PBKDF2, c=2**31), id="pbkdf2 c=2^31 (OverflowError)"),
    pytest.param(_with(PBKDF2, c=0), id="pbkdf2 c=0"),
    pytest.param(_with(PBKDF2, c=-5), id="pbkdf2 c<0"),
    pytest.param(_with(PBKDF2, dklen=2**31 - 1), id="pbkdf2 dklen=2^31-1 (2 GiB of output)"),
    pytest.param(_with(PBKDF2, dklen=2**64), id="pbkdf2 dklen=2^64"),
]


@pytest.mark.usefixtures("tripwire")
@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_keystore_is_refused_by_name_before_any_kdf_runs(hostile: dict[str, Any]) -> None:
    with pytest.raises(BadKeystore):
        decrypt(hostile, "right")


@pytest.mark.usefixtures("tripwire")
@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param([1], id="a list"),
        pytest.param("keystore", id="a string"),
        pytest.param(
            {**copy.deepcopy(SCRYPT), "crypto": {**SCRYPT["crypto"], "cipherparams": [1]}}, id="cipherparams a list"
        ),
        pytest.param({**copy.deepcopy(SCRYPT), "crypto": {**SCRYPT["crypto"], "cipher": "aes-256-cbc"}}, id="cipher"),
        pytest.param(
            {**copy.deepcopy(SCRYPT), "crypto": {**SCRYPT["crypto"], "ciphertext": "00" * 16}}, id="a 16-byte key"
        ),
    ],
)
def test_a_malformed_keystore_is_refused_by_name_and_before_the_kdf(hostile: Any) -> None:
    """What can be checked without the passphrase is checked before the 256 MiB KDF."""
    with pytest.raises(BadKeystore):
        decrypt(hostile, "right")


def test_the_mac_is_checked_in_constant_time_before_anything_is_decrypted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins what holds today: a wrong passphrase never reaches AES, and the MAC comparison is
    hmac.compare_digest."""
    import hmac

    import cryptography.hazmat.primitives.ciphers as ciphers

    compared: list[tuple[bytes, bytes]] = []
    real_compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return bool(real_compare(a, b))

    def no_aes(*_: Any, **__: Any) -> Any:
        raise AssertionError("decrypted before the MAC was checked")

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module keyfile.py calls it on
    monkeypatch.setattr(ciphers, "Cipher", no_aes)
    with pytest.raises(MacMismatch):
        decrypt(SCRYPT, "wrong")
    assert len(compared) == 1
    monkeypatch.undo()
    assert decrypt(SCRYPT, "right") == KEY


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("kdf", "argon2", id="another KDF (BadKeystore)"),
        pytest.param("n", 1000, id="scrypt n not a power of 2 (ValueError from hashlib)"),
    ],
)
def test_one_keystore_that_cannot_be_opened_holds_its_issuer_only_not_the_workers_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: Any
) -> None:
    """`sceau worker` calls Custody.open_all before anything else and catches nothing around it: an
    exception out of it is a worker that dies at every restart, and no issuer anchors. Before
    today a keystore eth-account could not open was a ValueError turned into WrongPassphrase for
    that issuer alone (holding.py: "Other issuers go on meanwhile")."""
    from certifier.keys import keystore
    from certifier.keys.custody import Custody, store_secret

    monkeypatch.setenv("SCEAU_SCRYPT_N", "1024")
    good = keystore.create("Lycée A", "A", ("diploma",), "secret of a", tmp_path)
    keystore.create("Lycée B", "B", ("diploma",), "secret of b", tmp_path)
    store_secret("Lycée A", "passphrase", "secret of a", tmp_path)
    store_secret("Lycée B", "passphrase", "secret of b", tmp_path)
    path = tmp_path / "issuers" / "lycee-b.json"
    data = json.loads(path.read_text())
    crypto = data["keystore"]["crypto"]
    if field == "kdf":
        crypto["kdf"] = value
    else:
        crypto["kdfparams"][field] = value
    path.write_text(json.dumps(data))

    custody = Custody(tmp_path, environ={})
    failures = custody.open_all()  # today: raises, and the worker never starts
    assert len(failures) == 1 and "Lycée B" in str(failures[0])
    assert custody.signer("Lycée A").address == good.address
    with pytest.raises(SceauError):  # asked for later, B is a SceauError: its issuer is held (holding.py)
        custody.signer("Lycée B")
