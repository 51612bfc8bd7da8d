"""The signed trust list: every accreditor, issuer and key of a trusted registry, with validity
windows and compromise cut-offs, for checking seals with no network (a border post, a phone in a
tunnel). In the spirit of ETSI TS 119 612 and the EU DCC gateway's lists.

The root authority signs it with its on-chain key (EIP-191 over the canonical JSON of every other
member); a verifier accepts it only when the signer is the ``rootAuthority`` of one of its own trust
anchors, it is not older than one it already holds, and (for a verdict) its next update is not past.
Format: RECEIPT.md §9.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

from verifier.chain import ChainReader
from verifier.core.anchors import TrustAnchor, TrustAnchors, read_trust_file
from verifier.core.errors import InvalidTrustList, StaleTrustList
from verifier.core.kinds import KINDS, mask_names

MEDIA_TYPE = "application/vnd.sceau.trustlist.v1+json"
MAX_TRUST_LIST_BYTES = 8 << 20
OPEN_ENDED = (1 << 40) - 1


@dataclass(frozen=True)
class TrustedKey:
    address: str
    issuer_id: int
    issuer: str
    identifier: str
    accreditor: str
    kinds: tuple[str, ...]
    valid_from: int
    valid_until: int  # exclusive; 2**40 - 1 when open-ended
    compromised: bool  # its validity was cut for a compromise: its seals claim times a thief chose
    issuer_suspended: bool
    suspensions: tuple[tuple[int, int], ...]  # (from, until or 0)

    def valid_at(self, ts: int) -> bool:
        if not self.valid_from <= ts < self.valid_until:
            return False
        return not any(start <= ts and (until == 0 or ts < until) for start, until in self.suspensions)


def canonical_body(body: dict[str, Any]) -> bytes:
    """The signed bytes: every member but ``signature``, keys sorted, no whitespace, UTF-8."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def export(reader: ChainReader, anchor: TrustAnchor, private_key: Any, *, valid_days: float = 7.0) -> dict[str, Any]:
    """The signed trust list of `anchor`'s registry as of the latest block; `private_key` must be
    the root authority's."""
    head = reader.rpc("eth_getBlockByNumber", ["latest", False])
    block = {"number": int(head["number"], 16), "hash": head["hash"], "timestamp": int(head["timestamp"], 16)}
    issuers = []
    accreditors: dict[str, dict[str, Any]] = {}
    for issuer_id in range(1, reader.issuer_count() + 1):
        info = reader.issuer(issuer_id)
        keys = []
        for address in reader.issuer_keys(issuer_id):
            record = reader.key_record(address)
            keys.append(
                {
                    "address": address,
                    "validFrom": record.valid_from,
                    "validUntil": record.valid_until,
                    "compromised": record.compromised,
                }
            )
        if info.accreditor not in accreditors:
            name, kinds = reader.accreditor(info.accreditor)
            accreditors[info.accreditor] = {"address": info.accreditor, "name": name, "kinds": mask_names(kinds)}
        issuers.append(
            {
                "id": issuer_id,
                "name": info.name,
                "identifier": info.identifier,
                "accreditor": info.accreditor,
                "kinds": mask_names(info.kinds),
                "suspended": info.suspended,
                "suspensions": [{"from": s.start, "until": s.until, "reason": s.reason} for s in info.suspensions],
                "keys": keys,
            }
        )
    issued = int(time.time())
    body: dict[str, Any] = {
        "mediaType": MEDIA_TYPE,
        "sequence": block["number"],
        "issuedAt": issued,
        "nextUpdate": issued + int(valid_days * 86400),
        "block": block,
        "anchor": anchor.to_dict(),
        "accreditors": sorted(accreditors.values(), key=lambda a: a["address"]),
        "issuers": issuers,
    }
    signer = Account.from_key(private_key).address
    if signer != anchor.root_authority:
        raise InvalidTrustList(
            f"the trust list must be signed by the root authority {anchor.root_authority}, not by {signer}"
        )
    signed = Account.sign_message(encode_defunct(primitive=canonical_body(body)), private_key=private_key)
    body["signature"] = "0x" + bytes(signed.signature).hex()
    return body


class TrustList:
    """A trust list whose signature was checked against the verifier's trust anchors."""

    def __init__(self, data: dict[str, Any], anchor: TrustAnchor) -> None:
        self.anchor = anchor
        self.sequence = int(data["sequence"])
        self.issued_at = int(data["issuedAt"])
        self.next_update = int(data["nextUpdate"])
        self.block_time = int(data["block"]["timestamp"])
        self.keys: dict[str, TrustedKey] = {}
        accreditors = {a["address"]: a["name"] for a in data["accreditors"]}
        for i in data["issuers"]:
            suspensions = tuple((int(s["from"]), int(s["until"])) for s in i["suspensions"])
            kinds = tuple(str(k) for k in i["kinds"] if k in KINDS)
            for k in i["keys"]:
                self.keys[str(k["address"]).lower()] = TrustedKey(
                    address=str(k["address"]),
                    issuer_id=int(i["id"]),
                    issuer=str(i["name"]),
                    identifier=str(i["identifier"]),
                    accreditor=str(accreditors.get(i["accreditor"], i["accreditor"])),
                    kinds=kinds,
                    valid_from=int(k["validFrom"]),
                    valid_until=int(k["validUntil"]),
                    compromised=bool(k["compromised"]),
                    issuer_suspended=bool(i["suspended"]),
                    suspensions=suspensions,
                )

    @classmethod
    def verified(cls, data: bytes | str, anchors: TrustAnchors, *, source: str = "trust list") -> TrustList:
        """Parse `data` and check it was signed by the root authority of one of `anchors`.

        Raises InvalidTrustList for anything unsigned, altered, malformed or signed by another key."""
        body = read_trust_file(data, source, "trust list", MEDIA_TYPE, MAX_TRUST_LIST_BYTES, InvalidTrustList)
        signature = body.get("signature")
        if not isinstance(signature, str) or not signature.startswith("0x"):
            raise InvalidTrustList(f"{source}: the trust list is not signed; ask the root authority for a signed one")
        try:
            named = TrustAnchor.from_dict(body["anchor"], f"{source}: anchor")
            anchor = anchors.find(named.chain_id, named.registry)
            if anchor is None or anchor != named:
                raise InvalidTrustList(
                    f"{source}: it is the list of registry {named.registry} on chain {named.chain_id}, "
                    f"which is not one of this verifier's trust anchors ({anchors.describe()})"
                )
            signer = Account.recover_message(
                encode_defunct(primitive=canonical_body(body)), signature=bytes.fromhex(signature[2:])
            )
        except InvalidTrustList:
            raise
        except Exception as exc:  # eth-keys raises several types for a malformed signature
            raise InvalidTrustList(f"{source}: the signature cannot be read ({exc.__class__.__name__})") from None
        if signer != anchor.root_authority:
            raise InvalidTrustList(
                f"{source}: signed by {signer}, not by the root authority {anchor.root_authority} "
                f"({anchor.name}): it was altered, or forged"
            )
        try:
            return cls(body, anchor)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidTrustList(f"{source}: a signed but malformed trust list ({exc})") from None

    def lookup(self, address: str) -> TrustedKey | None:
        return self.keys.get(address.lower())

    def stale(self, now: int) -> bool:
        return now >= self.next_update


def load_trust_list(path: Path, anchors: TrustAnchors, state_dir: Path | None = None) -> TrustList:
    """A verified trust list from `path`, refused when older than the newest one this verifier
    has held (its sequence is remembered in `state_dir`, so that a replayed old list cannot hide a
    later compromise)."""
    if not path.is_file():
        raise InvalidTrustList(f"{path}: no such trust list")
    trust = TrustList.verified(path.read_bytes(), anchors, source=str(path))
    if state_dir is None:
        return trust
    seen_path = state_dir / "trust-list-sequence.json"
    key = f"{trust.anchor.chain_id}:{trust.anchor.registry}"
    try:
        seen = json.loads(seen_path.read_text()) if seen_path.is_file() else {}
    except ValueError:
        seen = {}
    held = int(seen.get(key, 0)) if isinstance(seen, dict) else 0
    if trust.sequence < held:
        raise StaleTrustList(
            f"{path}: trust list number {trust.sequence} is older than number {held} already held here; "
            "an old list may hide a later suspension or compromise: use the newest one"
        )
    if trust.sequence > held:
        seen = {**(seen if isinstance(seen, dict) else {}), key: trust.sequence}
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = seen_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(seen) + "\n")
        tmp.replace(seen_path)
    return trust
