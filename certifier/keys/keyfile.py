"""Opening an Ethereum keystore (Web3 Secret Storage, version 3: scrypt or PBKDF2-HMAC-SHA256, then
AES-128-CTR, with a Keccak-256 MAC) with hashlib and cryptography alone.

Why not eth-account's `Account.decrypt`: it loads eth-keyfile, eth-keys and py_ecc (about 40 MiB and
half a second). The anchoring worker opens its keys before it loads anything else, so that the
KDF's 256 MiB (scrypt, N = 2^18, r = 8: the cost eth-account gives new keystores) never add to the
rest of the service's memory, and `sceau issue` derives the key on one core while it hashes
documents on the other. Keystores are still made by eth-account; tests/test_keyfile.py holds this
decryption to eth-account's on keystores it wrote, and to the MAC on tampered ones."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from verifier.core.errors import ConfigurationError
from verifier.core.hashing import keccak256


class BadKeystore(ConfigurationError):
    """The file is not a version-3 keystore this module can open (another KDF or cipher, a field missing)."""


class MacMismatch(ValueError):
    """The passphrase does not open the keystore (or the keystore was altered): its MAC does not match."""


def _hex(value: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(str(value).removeprefix("0x"))
    except ValueError:
        raise BadKeystore(f"the keystore's {what} is not hexadecimal") from None


def derive(keystore: dict[str, Any], passphrase: str) -> bytes:
    """The key the KDF derives from `passphrase` (the slow, memory-hard step)."""
    crypto = keystore.get("crypto") or keystore.get("Crypto")  # "Crypto": keystores of old geth versions
    if not isinstance(crypto, dict):
        raise BadKeystore("the keystore has no crypto section")
    kdf, params = crypto.get("kdf"), crypto.get("kdfparams")
    if not isinstance(params, dict):
        raise BadKeystore("the keystore has no kdfparams")
    password = passphrase.encode()
    try:
        salt, dklen = _hex(params["salt"], "salt"), int(params["dklen"])
        if kdf == "scrypt":
            cost = {"n": int(params["n"]), "r": int(params["r"]), "p": int(params["p"])}
        elif kdf == "pbkdf2" and params.get("prf") == "hmac-sha256":
            rounds = int(params["c"])
        else:
            raise BadKeystore(f"the keystore's KDF is {kdf!r} ({params.get('prf', '')}): scrypt and pbkdf2 are known")
    except (KeyError, TypeError, ValueError) as exc:
        raise BadKeystore(f"the keystore's kdfparams are incomplete ({exc.__class__.__name__}: {exc})") from None
    if dklen < 32:
        raise BadKeystore(f"the keystore's derived key is {dklen} bytes: 32 at least are needed")
    if kdf == "scrypt":
        memory = 128 * cost["r"] * cost["n"] * cost["p"]
        return hashlib.scrypt(password, salt=salt, dklen=dklen, maxmem=memory + (1 << 20), **cost)
    return hashlib.pbkdf2_hmac("sha256", password, salt, rounds, dklen)


def decrypt(keystore: dict[str, Any], passphrase: str) -> bytes:
    """The private key the keystore holds. MacMismatch when `passphrase` does not open it."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    derived = derive(keystore, passphrase)
    crypto = keystore.get("crypto") or keystore["Crypto"]
    if crypto.get("cipher") != "aes-128-ctr":
        raise BadKeystore(f"the keystore's cipher is {crypto.get('cipher')!r}: only aes-128-ctr is known")
    ciphertext = _hex(crypto.get("ciphertext"), "ciphertext")
    iv = _hex((crypto.get("cipherparams") or {}).get("iv"), "iv")
    if len(iv) != 16:
        raise BadKeystore(f"the keystore's iv is {len(iv)} bytes, not 16")
    if not hmac.compare_digest(keccak256(derived[16:32] + ciphertext), _hex(crypto.get("mac"), "mac")):
        raise MacMismatch("the passphrase does not open this keystore")
    decryptor = Cipher(algorithms.AES(derived[:16]), modes.CTR(iv)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()
