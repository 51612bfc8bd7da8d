"""did:key for Ed25519 (W3C did:key method, multicodec 0xed01, multibase base58btc), and the
registry address derived from it (CREDENTIAL.md §4): resolved offline, from the identifier alone."""

from __future__ import annotations

from verifier.core.hashing import keccak256
from verifier.credentials.errors import InvalidDidKey

ED25519_PUB_MULTICODEC = b"\xed\x01"  # varint of 0xed, "ed25519-pub"
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def b58encode(data: bytes) -> str:
    """Bitcoin's base58 (the multibase ``z`` alphabet); leading zero bytes become ``1``."""
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _ALPHABET[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        if c not in _INDEX:
            raise InvalidDidKey(f"{c!r} is not a base58btc character")
        n = n * 58 + _INDEX[c]
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def multikey(public_key: bytes) -> str:
    """The Multikey ``publicKeyMultibase`` of an Ed25519 public key: ``z6Mk…``."""
    if len(public_key) != 32:
        raise InvalidDidKey("an Ed25519 public key is 32 bytes")
    return "z" + b58encode(ED25519_PUB_MULTICODEC + public_key)


def did_key(public_key: bytes) -> str:
    return "did:key:" + multikey(public_key)


def verification_method(public_key: bytes) -> str:
    """The key's verification method id, as did:key resolves it: ``did:key:z6Mk…#z6Mk…``."""
    mk = multikey(public_key)
    return f"did:key:{mk}#{mk}"


def public_key_of(did_or_method: str) -> bytes:
    """The Ed25519 public key named by a did:key or by its verification method id. Anything else
    (another DID method, another key type, a fragment that is not the key itself) is refused."""
    did, _, fragment = did_or_method.partition("#")
    if not did.startswith("did:key:z"):
        raise InvalidDidKey(f"{did_or_method[:80]!r} is not a did:key in base58btc")
    mk = did[len("did:key:") :]
    if fragment and fragment != mk:
        raise InvalidDidKey("a did:key verification method's fragment is the key itself")
    raw = b58decode(mk[1:])
    if len(raw) != 34 or raw[:2] != ED25519_PUB_MULTICODEC:
        raise InvalidDidKey(f"{did[:80]!r} is not an Ed25519 did:key (multicodec 0xed01, 32 bytes)")
    return raw[2:]


def registry_address(public_key: bytes) -> str:
    """The address under which the registry records this Ed25519 key (CREDENTIAL.md §4): the last 20
    bytes of keccak256(0xed01 ‖ public key), in EIP-55 case. No secp256k1 key has it, so it can
    never send a transaction: it is only a name in the registry's key table."""
    from verifier.core.hashing import checksum_address

    if len(public_key) != 32:
        raise InvalidDidKey("an Ed25519 public key is 32 bytes")
    return checksum_address(keccak256(ED25519_PUB_MULTICODEC + public_key)[-20:])
