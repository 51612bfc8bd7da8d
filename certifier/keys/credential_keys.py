"""Each issuer's Ed25519 key for Verifiable Credentials (CREDENTIAL.md §4): made on first use, kept
beside the issuer's keystore in ``$SCEAU_HOME/issuers/SLUG.ed25519.key`` (not ``.json``: that
folder's ``*.json`` are keystores), encrypted as the keystore is — scrypt, then AES (here AES-256-GCM,
which also detects a wrong passphrase) — under the issuer's keystore passphrase. It is the only thing
that signs credentials and status lists. Its public key is a did:key; the registry knows it by the
address derived from it."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from certifier.config import home
from certifier.keys import keystore
from verifier.core.errors import ConfigurationError
from verifier.credentials.didkey import b58encode, did_key, multikey, registry_address, verification_method


class WrongCredentialPassphrase(keystore.WrongPassphrase):
    """The passphrase does not open the issuer's credential key."""


@dataclass(frozen=True)
class CredentialKey:
    private: Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def did(self) -> str:
        return did_key(self.public_bytes)

    @property
    def verification_method(self) -> str:
        return verification_method(self.public_bytes)

    @property
    def registry_address(self) -> str:
        return registry_address(self.public_bytes)

    def sign(self, unsecured: dict[str, Any], created: datetime | None = None) -> dict[str, Any]:
        """`unsecured` with an ``eddsa-rdfc-2022`` proof (W3C Data Integrity EdDSA §3.3.1)."""
        when = (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        from verifier.credentials.data_integrity import hash_data, proof_options  # pyld: loaded to sign

        options = proof_options(self.verification_method, when)
        signature = self.private.sign(hash_data(unsecured, options))
        return {**unsecured, "proof": {**options, "proofValue": "z" + b58encode(signature)}}


FORMAT = "sceau-ed25519-key-v1"
DEFAULT_SCRYPT_N = 1 << 18  # eth-account's keystore default


def key_path(issuer_name: str, base: Path | None = None) -> Path:
    return (base or home()) / "issuers" / f"{keystore.slug(issuer_name)}.ed25519.key"


def _kek(passphrase: str, salt: bytes, n: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(passphrase.encode())


def _seal(private: Ed25519PrivateKey, passphrase: str) -> dict[str, Any]:
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    n = int(os.environ.get("SCEAU_SCRYPT_N") or DEFAULT_SCRYPT_N)  # lowered by tests only, as keystore.py
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    public = CredentialKey(private).public_bytes
    box = AESGCM(_kek(passphrase, salt, n)).encrypt(nonce, seed, public)
    return {
        "format": FORMAT,
        "publicKeyMultibase": multikey(public),
        "kdf": {"name": "scrypt", "n": n, "r": 8, "p": 1, "salt": salt.hex()},
        "cipher": {"name": "aes-256-gcm", "nonce": nonce.hex(), "ciphertext": box.hex()},
    }


def _open(data: dict[str, Any], passphrase: str, what: str) -> Ed25519PrivateKey:
    if data.get("format") != FORMAT:
        raise ConfigurationError(f"{what} is not a Sceau credential key")
    from verifier.credentials.didkey import public_key_of

    public = public_key_of("did:key:" + data["publicKeyMultibase"])
    kek = _kek(passphrase, bytes.fromhex(data["kdf"]["salt"]), int(data["kdf"]["n"]))
    try:
        seed = AESGCM(kek).decrypt(
            bytes.fromhex(data["cipher"]["nonce"]), bytes.fromhex(data["cipher"]["ciphertext"]), public
        )
    except InvalidTag:
        raise WrongCredentialPassphrase(f"wrong passphrase for {what}") from None
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_did(issuer_name: str, base: Path | None = None) -> str | None:
    """The issuer's credential did:key, read from the key file's public part (no passphrase: the web
    processes build unsigned credentials with it); None when the issuer has no credential key yet."""
    path = key_path(issuer_name, base)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    if data.get("format") != FORMAT or not isinstance(data.get("publicKeyMultibase"), str):
        raise ConfigurationError(f"{path} is not a Sceau credential key")
    return "did:key:" + str(data["publicKeyMultibase"])


def load_or_create(issuer_name: str, passphrase: str, base: Path | None = None) -> tuple[CredentialKey, bool]:
    """The issuer's credential key, made (and saved, 0600) on first use; True when just made."""
    if not passphrase:
        raise ConfigurationError("the keystore passphrase must not be empty")
    path = key_path(issuer_name, base)
    what = f"the credential key of {issuer_name!r}"
    if path.exists():
        return CredentialKey(_open(json.loads(path.read_text()), passphrase, what)), False
    private = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use that one
        return load_or_create(issuer_name, passphrase, base)
    with os.fdopen(fd, "w") as f:
        json.dump(_seal(private, passphrase), f, indent=2)
    return CredentialKey(private), True
