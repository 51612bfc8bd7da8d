"""Key custody: the anchoring worker signs for every issuer it holds, each with its own secret.

Where an issuer's key is, and what opens it, in this order:
(1) an HSM (PKCS#11): the issuer's record names the token and the key's label; the PIN comes from
    ``secrets.toml`` (``[issuers."NAME"] pin``, else ``[hsm] pin``) or ``SCEAU_PKCS11_PIN``;
(2) an encrypted keystore, opened by ``[issuers."NAME"] passphrase`` in ``$SCEAU_HOME/secrets.toml``;
(3) the same keystore opened by ``SCEAU_KEY_PASSPHRASE`` (one passphrase for every issuer: the old way).

``secrets.toml`` must be readable by its owner only (mode 0600): a file others can read is refused.
Only the worker process reads secrets; `sceau serve` keeps them out of the web processes that parse
uploads (see server.py), and certified copies use the seal the worker signed (certified_copies.py).
"""

from __future__ import annotations

import json
import os
import stat
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from certifier.config import home
from certifier.keys import SECRET_ENV, keystore
from verifier.core.errors import ConfigurationError, InvalidFields
from verifier.core.receipt import Receipt
from verifier.core.seal import Seal

if TYPE_CHECKING:  # eth-account and cryptography are loaded once the keystores' KDFs are done (open_all)
    from eth_account.datastructures import SignedTransaction
    from eth_account.signers.local import LocalAccount

    from certifier.keys.credential_keys import CredentialKey

SECRETS_FILE = "secrets.toml"
DEFAULT_PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


class KeyLocked(ConfigurationError):
    """An issuer's key cannot be opened: no secret for it, a wrong one, or its HSM refuses."""


class Signer(Protocol):
    """What the worker needs of an issuer's key: its address, transactions and seals signed."""

    @property
    def address(self) -> str: ...

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction: ...

    def seal(self, receipt: Receipt, fields: dict[str, str], anchored_at: int) -> str: ...


def unsigned_seal(receipt: Receipt, fields: dict[str, str], anchored_at: int) -> Seal:
    """`verifier.core.seal.make_seal` without the signature (an HSM signs it)."""
    from verifier.core.fields import fields_sha256

    if fields_sha256(fields) != receipt.document.fields_sha256:
        raise InvalidFields("these displayed fields are not the ones anchored with the document")
    r = receipt
    return Seal(r.chain_id, r.registry, r.anchor.root, anchored_at, r.document, r.proof, fields)


@dataclass(frozen=True)
class LocalSigner:
    """A key decrypted from its keystore, held in the worker's memory only."""

    account: LocalAccount

    @property
    def address(self) -> str:
        return str(self.account.address)

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        signed: SignedTransaction = self.account.sign_transaction(tx)
        return signed

    def seal(self, receipt: Receipt, fields: dict[str, str], anchored_at: int) -> str:
        return unsigned_seal(receipt, fields, anchored_at).signed(self.account.key).encode()


def _local_signer(key: bytes) -> LocalSigner:
    from eth_account import Account

    return LocalSigner(Account.from_key(key))


# ---------------------------------------------------------------- secrets.toml


def secrets_path(base: Path | None = None) -> Path:
    return (base or home()) / SECRETS_FILE


def read_secrets(base: Path | None = None) -> dict[str, Any]:
    """The secrets file, or {} when there is none. Refused unless only its owner can read it."""
    path = secrets_path(base)
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyLocked(f"{path} can be read by others (mode {stat.S_IMODE(info.st_mode):o}): run `chmod 600 {path}`")
    if info.st_uid != os.getuid():
        raise KeyLocked(f"{path} belongs to another user: the service's own user must own it")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise KeyLocked(f"{path} is not valid TOML: {exc}") from None


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _dump(data: dict[str, Any]) -> str:
    """TOML for the two levels of string tables that secrets.toml holds."""
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, str):
            lines.append(f"{key} = {_toml_str(value)}")
    for table, body in data.items():
        if not isinstance(body, dict):
            continue
        plain = {k: v for k, v in body.items() if isinstance(v, str)}
        if plain:
            lines += ["", f"[{table}]"] + [f"{_toml_str(k)} = {_toml_str(v)}" for k, v in plain.items()]
        for name, sub in body.items():
            if isinstance(sub, dict):
                lines += ["", f"[{table}.{_toml_str(name)}]"]
                lines += [f"{_toml_str(k)} = {_toml_str(str(v))}" for k, v in sub.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def store_secret(issuer: str, key: str, value: str, base: Path | None = None) -> Path:
    """Record `key` (passphrase or pin) for `issuer` in secrets.toml, written 0600 and atomically."""
    data = read_secrets(base)
    data.setdefault("issuers", {}).setdefault(issuer, {})[key] = value
    path = secrets_path(base)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(_dump(data))
    tmp.replace(path)
    return path


# ---------------------------------------------------------------- custody


class Custody:
    """Signers for the issuers whose keys are here, opened once and kept in this process.

    A failure is remembered with what it was tried with (the secrets file's state, the
    environment): the same failure is not retried, and never spends an scrypt derivation again,
    until one of them changes."""

    def __init__(self, base: Path | None = None, environ: dict[str, str] | None = None) -> None:
        self.base = base
        self._environ = environ if environ is not None else os.environ
        self._signers: dict[str, Signer] = {}
        self._credential_keys: dict[str, CredentialKey] = {}
        self._failed: dict[str, tuple[Any, KeyLocked]] = {}
        self._lock = threading.Lock()

    def _fingerprint(self) -> Any:
        try:
            info = secrets_path(self.base).stat()
            file_state: Any = (info.st_mtime_ns, info.st_size, info.st_mode)
        except FileNotFoundError:
            file_state = None
        return file_state, tuple(self._environ.get(k) for k in SECRET_ENV)

    def signer(self, issuer: str) -> Signer:
        with self._lock:
            if issuer in self._signers:
                return self._signers[issuer]
            fingerprint = self._fingerprint()
            failed = self._failed.get(issuer)
            if failed is not None and failed[0] == fingerprint:
                raise failed[1]
            try:
                signer = self._open(issuer)
            except KeyLocked as exc:
                self._failed[issuer] = (fingerprint, exc)
                raise
            self._failed.pop(issuer, None)
            self._signers[issuer] = signer
            return signer

    def _open(self, issuer: str) -> Signer:
        record = keystore.load(issuer, self.base)
        secrets = read_secrets(self.base)
        own: dict[str, Any] = secrets.get("issuers", {}).get(record.name, {})
        if record.hsm is not None:
            where = secrets_path(self.base)
            hsm: dict[str, Any] = secrets.get("hsm", {})
            pin = own.get("pin") or hsm.get("pin") or self._environ.get("SCEAU_PKCS11_PIN")
            if not pin:
                raise KeyLocked(
                    f"issuer {record.name!r} signs with an HSM key and no PIN is given: add "
                    f'[issuers."{record.name}"] pin = "…" to {where} (mode 0600), or set SCEAU_PKCS11_PIN'
                )
            from certifier.keys.hsm import open_signer

            return open_signer(record, str(pin), str(hsm.get("module") or record.hsm.get("module") or ""))
        return _local_signer(self._private_key(record, own))

    def _private_key(self, record: keystore.IssuerKey, own: dict[str, Any]) -> bytes:
        passphrase, source = self._passphrase(record, own)
        try:
            return record.private_key(passphrase)
        except keystore.WrongPassphrase:
            raise KeyLocked(
                f"wrong passphrase for issuer {record.name!r} (from {source}): put its own passphrase in "
                f'{secrets_path(self.base)} as [issuers."{record.name}"] passphrase = "…"'
            ) from None

    def open_all(self) -> list[KeyLocked]:
        """Open every keystore issuer's key now, and its credential key if it has one; the failures
        (each remembered as `signer` remembers it, and said again when its key is asked for).

        The anchoring worker does this first, before it loads the chain libraries, and `sceau serve`
        starts the web server once it is done (supervisor.py): the KDFs' memory (256 MiB each, one
        after the other) then never adds to the service's, and a missing or wrong passphrase is said
        at the start rather than at the first batch. HSM keys have no KDF here: they open on first use."""
        failures: list[KeyLocked] = []
        keys: dict[str, bytes] = {}
        with self._lock:
            fingerprint = self._fingerprint()
            secrets = read_secrets(self.base)
            for record in keystore.all_issuers(self.base):
                if record.hsm is not None or record.name in self._signers:
                    continue
                try:
                    keys[record.name] = self._private_key(record, secrets.get("issuers", {}).get(record.name, {}))
                except KeyLocked as exc:
                    self._failed[record.name] = (fingerprint, exc)
                    failures.append(exc)
                except ConfigurationError as exc:  # a keystore this version cannot open: its issuer only
                    failures.append(KeyLocked(f"the key of issuer {record.name!r} cannot be opened: {exc}"))
        from certifier.keys.credential_keys import key_path

        for name in keys:  # their KDFs too, before eth-account is loaded
            if key_path(name, self.base).exists():
                try:
                    self.credential_key(name)
                except KeyLocked as exc:
                    failures.append(exc)
        with self._lock:
            for name, key in keys.items():  # eth-account is loaded now, after every KDF
                self._signers[name] = _local_signer(key)
        return failures

    def _passphrase(self, record: keystore.IssuerKey, own: dict[str, Any]) -> tuple[str, str]:
        """The issuer's keystore passphrase and where it came from."""
        where = secrets_path(self.base)
        passphrase, source = own.get("passphrase"), str(where)
        if not passphrase:
            passphrase, source = self._environ.get("SCEAU_KEY_PASSPHRASE"), "SCEAU_KEY_PASSPHRASE"
        if not passphrase:
            raise KeyLocked(
                f'no passphrase for issuer {record.name!r}: add [issuers."{record.name}"] passphrase = "…" '
                f"to {where} (mode 0600)"
            )
        return str(passphrase), source

    def credential_key(self, issuer: str) -> CredentialKey:
        """The issuer's Ed25519 credential key (credential_keys.py), opened — or made, on first use —
        with its keystore passphrase (an HSM issuer's too: its credential key is a file)."""
        with self._lock:
            if issuer in self._credential_keys:
                return self._credential_keys[issuer]
            record = keystore.load(issuer, self.base)
            own: dict[str, Any] = read_secrets(self.base).get("issuers", {}).get(record.name, {})
            passphrase, source = self._passphrase(record, own)
            from certifier.keys.credential_keys import WrongCredentialPassphrase, load_or_create

            try:
                key, _ = load_or_create(record.name, passphrase, self.base)
            except WrongCredentialPassphrase:
                raise KeyLocked(
                    f"wrong passphrase for the credential key of issuer {record.name!r} (from {source}): it opens "
                    f'with the keystore\'s passphrase, given as [issuers."{record.name}"] passphrase = "…" in '
                    f"{secrets_path(self.base)}"
                ) from None
            self._credential_keys[issuer] = key
            return key
