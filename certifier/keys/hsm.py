"""Issuer keys held in an HSM, through PKCS#11 (python-pkcs11; tested against SoftHSM2).

The key is a secp256k1 key generated in the token and never leaves it. The HSM signs a digest
with ``CKM_ECDSA`` and answers (r, s); Ethereum also needs s in the lower half of the curve order
(EIP-2) and the recovery id v, found by recovering the public key with each candidate and keeping
the one that gives the issuer's address. The signed typed transaction is then assembled by
eth-account, exactly as a local key's would be.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from eth_account._utils.legacy_transactions import encode_transaction
from eth_account.datastructures import SignedTransaction
from eth_account.messages import _hash_eip191_message, encode_defunct
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_keys.constants import SECPK1_N
from eth_keys.datatypes import PublicKey, Signature
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from certifier.keys.custody import DEFAULT_PKCS11_MODULE, KeyLocked, unsigned_seal
from certifier.keys.keystore import IssuerKey
from verifier.core.receipt import Receipt

SECP256K1_OID = "1.3.132.0.10"


def _library(module: str) -> Any:
    import pkcs11

    try:
        return pkcs11.lib(module or DEFAULT_PKCS11_MODULE)
    except (OSError, RuntimeError) as exc:
        raise KeyLocked(f"cannot load the PKCS#11 module {module or DEFAULT_PKCS11_MODULE!r}: {exc}") from None


_sessions: dict[tuple[str, str], Any] = {}
_sessions_lock = threading.Lock()


def _session(module: str, token: str, pin: str, *, rw: bool = False) -> Any:
    """A session on `token`, logged in with `pin`. PKCS#11 logs a whole process in, not a session:
    one logged-in session per token is opened and shared (a second login would be refused)."""
    from pkcs11.exceptions import NoSuchToken, PinIncorrect, PinLenRange, PKCS11Error, UserAlreadyLoggedIn

    key = (module or DEFAULT_PKCS11_MODULE, token)
    with _sessions_lock:
        if key in _sessions and not rw:
            return _sessions[key]
        try:
            slot = _library(module).get_token(token_label=token)
            try:
                session = slot.open(user_pin=pin, rw=rw)
            except UserAlreadyLoggedIn:  # this process is logged in already: the new session shares it
                session = slot.open(rw=rw)
        except NoSuchToken:
            raise KeyLocked(f"no PKCS#11 token labelled {token!r} in {key[0]}") from None
        except (PinIncorrect, PinLenRange):
            raise KeyLocked(f"the PIN of PKCS#11 token {token!r} is wrong") from None
        except PKCS11Error as exc:
            raise KeyLocked(f"PKCS#11 token {token!r}: {type(exc).__name__}") from None
        if not rw:
            _sessions[key] = session
        return session


def _address_of(public_key: Any) -> str:
    from pkcs11 import Attribute

    point = bytes(public_key[Attribute.EC_POINT])
    raw = point[-64:]  # DER OCTET STRING around 04 ‖ X ‖ Y: the last 64 bytes are X ‖ Y
    return str(PublicKey(raw).to_checksum_address())


def generate_key(module: str, token: str, pin: str, label: str) -> str:
    """A new secp256k1 key pair in `token`, under `label` (unextractable); returns its address."""
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_named_curve_parameters

    with _session(module, token, pin, rw=True) as session:  # closed after: the login ends with it
        public, _ = session.generate_keypair(
            KeyType.EC,
            store=True,
            label=label,
            public_template={Attribute.EC_PARAMS: encode_named_curve_parameters(SECP256K1_OID)},
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
        return _address_of(public)


@dataclass
class HsmSigner:
    """Signs with the issuer's HSM key; one PKCS#11 session, used by one thread at a time."""

    address: str
    session: Any
    key: Any
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sign_digest(self, digest: bytes) -> tuple[int, int, int]:
        """(v, r, s) over a 32-byte digest, s low, v the recovery id (0 or 1)."""
        from pkcs11 import Mechanism
        from pkcs11.exceptions import PKCS11Error

        try:
            with self._lock:
                raw = bytes(self.key.sign(digest, mechanism=Mechanism.ECDSA))
        except PKCS11Error as exc:
            raise KeyLocked(f"the HSM refused to sign for {self.address}: {type(exc).__name__}") from None
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if s > SECPK1_N // 2:
            s = SECPK1_N - s
        for v in (0, 1):
            recovered = Signature(vrs=(v, r, s)).recover_public_key_from_msg_hash(digest)
            if recovered.to_checksum_address() == self.address:
                return v, r, s
        raise KeyLocked(f"the HSM key does not sign for {self.address}: is the record's label right?")

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        unsigned = TypedTransaction.from_dict({k: v for k, v in tx.items() if k != "from"})
        v, r, s = self.sign_digest(unsigned.hash())
        raw = encode_transaction(unsigned, (v, r, s))
        return SignedTransaction(HexBytes(raw), HexBytes(keccak(raw)), r, s, v)

    def seal(self, receipt: Receipt, fields: dict[str, str], anchored_at: int) -> str:
        from dataclasses import replace

        unsigned = unsigned_seal(receipt, fields, anchored_at)
        v, r, s = self.sign_digest(_hash_eip191_message(encode_defunct(primitive=unsigned.body())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v + 27])
        return replace(unsigned, signature=signature).encode()


def open_signer(record: IssuerKey, pin: str, module: str) -> HsmSigner:
    from pkcs11 import KeyType, ObjectClass
    from pkcs11.exceptions import MultipleObjectsReturned, NoSuchKey

    assert record.hsm is not None
    token, label = record.hsm["token"], record.hsm["label"]
    session = _session(module or record.hsm.get("module", ""), token, pin)
    try:
        key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC, label=label)
    except (NoSuchKey, MultipleObjectsReturned):
        raise KeyLocked(f"PKCS#11 token {token!r} holds no single EC key labelled {label!r}") from None
    return HsmSigner(record.address, session, key)
