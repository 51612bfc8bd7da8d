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


#: The most a keystore may ask of its KDF. eth-account and geth write scrypt n = 2^18, r = 8, p = 1
#: (256 MiB, about a second), geth's light keystores n = 2^12, r = 8, p = 6, ethers n = 2^17;
#: eth-keyfile's pbkdf2 is c = 10^6. A keystore is a file: its parameters must not size the
#: worker's memory, hold its start for minutes, or reach hashlib's own limits (raw ValueError,
#: OverflowError).
MAX_SCRYPT_N = 1 << 18
MAX_SCRYPT_R = 8
MAX_SCRYPT_P = 16
MAX_SCRYPT_WORK = (1 << 18) * 8  # n·r·p: the standard keystore's, so memory <= 256 MiB
MAX_PBKDF2_ROUNDS = 1 << 22
MAX_DKLEN = 64


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise BadKeystore(f"the keystore's {what} is not hexadecimal")
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise BadKeystore(f"the keystore's {what} is not hexadecimal") from None


def _count(params: dict[str, Any], name: str, low: int, high: int) -> int:
    if name not in params:
        raise BadKeystore(f"the keystore's kdfparams are incomplete (no {name})")
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadKeystore(f"the keystore's {name} is {value!r}: from {low} to {high} is opened here")
    return value


def _crypto(keystore: Any) -> dict[str, Any]:
    crypto = (keystore.get("crypto") or keystore.get("Crypto")) if isinstance(keystore, dict) else None
    if not isinstance(crypto, dict):  # "Crypto": keystores of old geth versions
        raise BadKeystore("the keystore has no crypto section")
    return crypto


def derive(keystore: dict[str, Any], passphrase: str) -> bytes:
    """The key the KDF derives from `passphrase` (the slow, memory-hard step)."""
    crypto = _crypto(keystore)
    kdf, params = crypto.get("kdf"), crypto.get("kdfparams")
    if not isinstance(params, dict):
        raise BadKeystore("the keystore has no kdfparams")
    if kdf != "scrypt" and not (kdf == "pbkdf2" and params.get("prf") == "hmac-sha256"):
        raise BadKeystore(f"the keystore's KDF is {kdf!r} ({params.get('prf', '')}): scrypt and pbkdf2 are known")
    if "salt" not in params:
        raise BadKeystore("the keystore's kdfparams are incomplete (no salt)")
    salt = _hex(params["salt"], "salt")
    dklen = params.get("dklen")
    if isinstance(dklen, bool) or not isinstance(dklen, int) or not 32 <= dklen <= MAX_DKLEN:
        raise BadKeystore(f"the keystore's derived key is {dklen!r} bytes: 32 to {MAX_DKLEN} are opened here")
    password = passphrase.encode()
    if kdf == "scrypt":
        n = _count(params, "n", 2, MAX_SCRYPT_N)
        r = _count(params, "r", 1, MAX_SCRYPT_R)
        p = _count(params, "p", 1, MAX_SCRYPT_P)
        if n & (n - 1) or n * r * p > MAX_SCRYPT_WORK:
            raise BadKeystore(f"the keystore's scrypt cost n={n}, r={r}, p={p} is not one this service opens")
        try:
            return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=128 * r * n * p + (1 << 20))
        except (ValueError, OverflowError) as exc:  # what OpenSSL refuses still
            raise BadKeystore(f"the keystore's scrypt parameters are refused ({exc})") from None
    rounds = _count(params, "c", 1, MAX_PBKDF2_ROUNDS)
    return hashlib.pbkdf2_hmac("sha256", password, salt, rounds, dklen)


def decrypt(keystore: dict[str, Any], passphrase: str) -> bytes:
    """The private key the keystore holds. MacMismatch when `passphrase` does not open it.
    Everything that can be checked without the passphrase is, before the KDF."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    crypto = _crypto(keystore)
    if crypto.get("cipher") != "aes-128-ctr":
        raise BadKeystore(f"the keystore's cipher is {crypto.get('cipher')!r}: only aes-128-ctr is known")
    cipherparams = crypto.get("cipherparams")
    iv = _hex(cipherparams.get("iv") if isinstance(cipherparams, dict) else None, "iv")
    if len(iv) != 16:
        raise BadKeystore(f"the keystore's iv is {len(iv)} bytes, not 16")
    ciphertext = _hex(crypto.get("ciphertext"), "ciphertext")
    if len(ciphertext) != 32:
        raise BadKeystore(f"the keystore's ciphertext is {len(ciphertext)} bytes: a secp256k1 key is 32")
    mac = _hex(crypto.get("mac"), "mac")
    derived = derive(keystore, passphrase)
    if not hmac.compare_digest(keccak256(derived[16:32] + ciphertext), mac):
        raise MacMismatch("the passphrase does not open this keystore")
    decryptor = Cipher(algorithms.AES(derived[:16]), modes.CTR(iv)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()
