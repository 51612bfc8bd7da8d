"""Issuer keys, encrypted at rest with eth-account's keystore format (scrypt + AES-128-CTR), one
file per issuer under ``$SCEAU_HOME/issuers``. Private keys never leave this module unencrypted
except as an in-memory signing account. An issuer whose key lives in an HSM has no keystore: its
record names the PKCS#11 token and key label instead (see hsm.py)."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certifier.config import home
from certifier.keys.keyfile import MacMismatch, decrypt
from verifier.core.errors import ConfigurationError

if TYPE_CHECKING:  # eth-account is imported where a key is made or opened: the web processes read records only
    from eth_account.signers.local import LocalAccount


class WrongPassphrase(ConfigurationError):
    """The passphrase does not open the keystore."""


def slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not s:
        raise ConfigurationError(f"issuer name {name!r} needs at least one letter or digit")
    return s


@dataclass(frozen=True)
class IssuerKey:
    name: str
    identifier: str
    kinds: tuple[str, ...]
    address: str
    issuer_id: int | None
    keystore: dict[str, Any]
    #: PKCS#11 location of an HSM-held key: {"module", "token", "label"}; None for a keystore.
    hsm: dict[str, str] | None = None

    def unlock(self, passphrase: str) -> LocalAccount:
        key = self.private_key(passphrase)  # the KDF first, before eth-account is loaded (keyfile.py says why)
        from eth_account import Account

        account: LocalAccount = Account.from_key(key)
        return account

    def private_key(self, passphrase: str) -> bytes:
        """The keystore's private key (keyfile.py: without loading eth-account, which unlock needs next)."""
        if self.hsm is not None:
            raise ConfigurationError(f"the key of issuer {self.name!r} is in an HSM and is never decrypted here")
        try:
            return decrypt(self.keystore, passphrase)
        except MacMismatch:
            raise WrongPassphrase(f"wrong passphrase for issuer {self.name!r}") from None


def _folder(base: Path | None) -> Path:
    path = (base or home()) / "issuers"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _scrypt_n() -> int | None:
    """scrypt cost. ``SCEAU_SCRYPT_N`` lowers it for tests only; the default is eth-account's."""
    value = os.environ.get("SCEAU_SCRYPT_N")
    return int(value) if value else None


def create(name: str, identifier: str, kinds: tuple[str, ...], passphrase: str, base: Path | None = None) -> IssuerKey:
    path = _folder(base) / f"{slug(name)}.json"
    if path.exists():
        raise ConfigurationError(f"issuer {name!r} already exists ({path})")
    if not passphrase:
        raise ConfigurationError("the keystore passphrase must not be empty")
    from eth_account import Account

    account = Account.create()
    keystore = Account.encrypt(account.key, passphrase, kdf="scrypt", iterations=_scrypt_n())
    record = IssuerKey(name, identifier, kinds, account.address, None, keystore)
    save(record, base, new=True)
    return record


def create_hsm(
    name: str, identifier: str, kinds: tuple[str, ...], address: str, hsm: dict[str, str], base: Path | None = None
) -> IssuerKey:
    """The record of an issuer whose key was generated in an HSM (hsm.generate_key)."""
    record = IssuerKey(name, identifier, kinds, address, None, {}, hsm)
    save(record, base, new=True)
    return record


def save(record: IssuerKey, base: Path | None = None, *, new: bool = False) -> None:
    path = _folder(base) / f"{slug(record.name)}.json"
    data = {
        "name": record.name,
        "identifier": record.identifier,
        "kinds": list(record.kinds),
        "address": record.address,
        "issuerId": record.issuer_id,
        "keystore": record.keystore,
    }
    if record.hsm is not None:
        data["hsm"] = record.hsm
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    if new and path.exists():
        tmp.unlink()
        raise ConfigurationError(f"issuer {record.name!r} already exists ({path})")
    tmp.replace(path)


def with_issuer_id(record: IssuerKey, issuer_id: int, base: Path | None = None) -> IssuerKey:
    updated = replace(record, issuer_id=issuer_id)
    save(updated, base)
    return updated


def load(name: str, base: Path | None = None) -> IssuerKey:
    path = _folder(base) / f"{slug(name)}.json"
    if not path.exists():
        known = ", ".join(r.name for r in all_issuers(base)) or "none yet"
        raise ConfigurationError(
            f"no issuer named {name!r} here (known: {known}); create it with `sceau issuer create`"
        )
    data = json.loads(path.read_text())
    return IssuerKey(
        data["name"],
        data["identifier"],
        tuple(data["kinds"]),
        data["address"],
        data["issuerId"],
        data["keystore"],
        data.get("hsm"),
    )


def all_issuers(base: Path | None = None) -> list[IssuerKey]:
    return [load(json.loads(p.read_text())["name"], base) for p in sorted(_folder(base).glob("*.json"))]
