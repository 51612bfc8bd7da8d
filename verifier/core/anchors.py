"""Trust anchors: the only things a verifier trusts, given to it from outside.

A receipt, seal or certified PDF names a chain and a registry; it is believed only when that
(chain, registry) is one of the verifier's anchors, and the endpoint it reads proves to serve that
chain (chain id *and* genesis block hash: two dev chains share id 31337). Everything else (issuer
names, accreditations, keys) is read from the anchored registry, never from the document.

File format (``application/vnd.sceau.trust-anchors.v1+json``, RECEIPT.md §7)::

    {"mediaType": "application/vnd.sceau.trust-anchors.v1+json",
     "anchors": [{"name": "Ministère de l'Enseignement supérieur", "chainId": 31337,
                  "genesisHash": "0x…", "registry": "0x…", "rootAuthority": "0x…"}]}

A registry succession (RECEIPT.md §7.3) lists the predecessor as an anchor of its own, so old
receipts keep verifying against the registry that anchored them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.core.errors import InvalidReceipt, NoTrustAnchors, TrustError
from verifier.core.hashing import checksum_address
from verifier.core.receipt import parse_json

MEDIA_TYPE = "application/vnd.sceau.trust-anchors.v1+json"
MAX_ANCHORS_BYTES = 1 << 20
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HEX32 = re.compile(r"0x[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """One registry on one chain, and the root authority that answers for it."""

    name: str
    chain_id: int
    genesis_hash: bytes
    registry: str  # EIP-55
    root_authority: str  # EIP-55: the key that signs trust lists
    predecessor: str | None = None  # the registry this one succeeded, when it is an anchor too

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "chainId": self.chain_id,
            "genesisHash": "0x" + self.genesis_hash.hex(),
            "registry": self.registry,
            "rootAuthority": self.root_authority,
        }
        if self.predecessor:
            out["predecessor"] = self.predecessor
        return out

    @classmethod
    def from_dict(cls, obj: Any, where: str) -> TrustAnchor:
        if not isinstance(obj, dict):
            raise TrustError(f"{where}: must be an object")
        required = {"name", "chainId", "genesisHash", "registry", "rootAuthority"}
        missing, unknown = required - obj.keys(), obj.keys() - required - {"predecessor"}
        if missing or unknown:
            raise TrustError(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}")
        name, chain_id, genesis = obj["name"], obj["chainId"], obj["genesisHash"]
        if not isinstance(name, str) or not name.strip():
            raise TrustError(f"{where}.name: the root authority's name must be non-empty text")
        if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 1 <= chain_id < 1 << 64:
            raise TrustError(f"{where}.chainId: must be an integer from 1 to 2^64-1")
        if not isinstance(genesis, str) or not _HEX32.fullmatch(genesis):
            raise TrustError(f"{where}.genesisHash: must be 0x and 64 lowercase hex digits")
        predecessor = obj.get("predecessor")
        return cls(
            name=name,
            chain_id=chain_id,
            genesis_hash=bytes.fromhex(genesis[2:]),
            registry=_address(obj["registry"], f"{where}.registry"),
            root_authority=_address(obj["rootAuthority"], f"{where}.rootAuthority"),
            predecessor=None if predecessor is None else _address(predecessor, f"{where}.predecessor"),
        )


@dataclass(frozen=True)
class TrustAnchors:
    """The set a verifier was given, and where it came from (for messages)."""

    anchors: tuple[TrustAnchor, ...]
    source: str

    def __post_init__(self) -> None:
        if not self.anchors:
            raise NoTrustAnchors(f"{self.source}: lists no trust anchor")

    def __iter__(self) -> Iterator[TrustAnchor]:
        return iter(self.anchors)

    def find(self, chain_id: int, registry: str) -> TrustAnchor | None:
        wanted = registry.lower()
        for anchor in self.anchors:
            if anchor.chain_id == chain_id and anchor.registry.lower() == wanted:
                return anchor
        return None

    def describe(self) -> str:
        return "; ".join(f"{a.name} (registry {a.registry} on chain {a.chain_id})" for a in self.anchors)

    def to_json(self) -> str:
        body = {"mediaType": MEDIA_TYPE, "anchors": [a.to_dict() for a in self.anchors]}
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: bytes | str, source: str) -> TrustAnchors:
        obj = read_trust_file(data, source, "trust-anchor file", MEDIA_TYPE, MAX_ANCHORS_BYTES, TrustError)
        if set(obj) != {"mediaType", "anchors"} or not isinstance(obj["anchors"], list):
            raise TrustError(f"{source}: expected exactly mediaType and a list of anchors")
        anchors = tuple(TrustAnchor.from_dict(a, f"{source}: anchors[{i}]") for i, a in enumerate(obj["anchors"]))
        return cls(anchors, source)

    @classmethod
    def load(cls, path: Path) -> TrustAnchors:
        if not path.is_file():
            raise NoTrustAnchors(f"{path}: no such trust-anchor file")
        return cls.from_json(path.read_bytes(), str(path))


def _address(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise TrustError(f"{where}: must be a 0x address of 40 hex digits")
    return str(checksum_address(value))


def read_trust_file(
    data: bytes | str, source: str, what: str, media_type: str, max_bytes: int, error: type[TrustError]
) -> dict[str, Any]:
    """The JSON object of a trust file (`what`: a trust-anchor file, a trust list) read from `source`:
    at most `max_bytes` of UTF-8, strict JSON (parse_json), of `media_type`; else an `error`."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise error(f"{source}: {len(raw)} bytes is too large for a {what}")
    try:
        obj = parse_json(raw.decode("utf-8"), what)
    except (InvalidReceipt, UnicodeDecodeError) as exc:
        raise error(f"{source}: {exc}") from None
    if not isinstance(obj, dict) or obj.get("mediaType") != media_type:
        raise error(f"{source}: not a Sceau {what} (mediaType must be {media_type})")
    return obj
