"""The trust list: every accredited issuer key with its validity period, exported from the chain
for offline checks of seals (``sceau trustlist export``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .chain import ChainReader
from .errors import InvalidReceipt
from .kinds import mask_names

MEDIA_TYPE = "application/vnd.sceau.trustlist.v1+json"


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
    suspensions: tuple[tuple[int, int], ...]  # (from, until or 0)

    def valid_at(self, ts: int) -> bool:
        if not self.valid_from <= ts < self.valid_until:
            return False
        return not any(start <= ts and (until == 0 or ts < until) for start, until in self.suspensions)


def export(reader: ChainReader) -> dict[str, Any]:
    issuers = []
    for issuer_id in range(1, reader.issuer_count() + 1):
        info = reader.issuer(issuer_id)
        keys = []
        for address in reader.issuer_keys(issuer_id):
            _, valid_from, valid_until = reader.key_record(address)
            keys.append({"address": address, "validFrom": valid_from, "validUntil": valid_until})
        issuers.append(
            {
                "id": issuer_id,
                "name": info.name,
                "identifier": info.identifier,
                "accreditor": info.accreditor_name,
                "kinds": mask_names(info.kinds),
                "suspended": info.suspended,
                "suspensions": [{"from": s.start, "until": s.until, "reason": s.reason} for s in info.suspensions],
                "keys": keys,
            }
        )
    head = reader.w3.eth.get_block("latest")
    return {
        "mediaType": MEDIA_TYPE,
        "chainId": reader.chain_id(),
        "registry": reader.registry,
        "exportedAt": int(time.time()),
        "block": int(head["number"]),
        "issuers": issuers,
    }


class TrustList:
    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("mediaType") != MEDIA_TYPE:
            raise InvalidReceipt(f"not a Sceau trust list (mediaType should be {MEDIA_TYPE})")
        self.chain_id = int(data["chainId"])
        self.registry = str(data["registry"])
        self.exported_at = int(data["exportedAt"])
        self.keys: dict[str, TrustedKey] = {}
        for i in data["issuers"]:
            suspensions = tuple((int(s["from"]), int(s["until"])) for s in i["suspensions"])
            for k in i["keys"]:
                self.keys[k["address"].lower()] = TrustedKey(
                    k["address"],
                    int(i["id"]),
                    i["name"],
                    i["identifier"],
                    i["accreditor"],
                    tuple(i["kinds"]),
                    int(k["validFrom"]),
                    int(k["validUntil"]),
                    suspensions,
                )

    @classmethod
    def from_json(cls, text: str | bytes) -> TrustList:
        try:
            return cls(json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidReceipt(f"the trust list cannot be read: {exc}") from None

    def lookup(self, address: str) -> TrustedKey | None:
        return self.keys.get(address.lower())
