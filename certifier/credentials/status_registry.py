"""Which status list entry stands for which anchored credential, per issuer, and the status list
credentials rebuilt from the chain (W3C Bitstring Status List v1.0; CREDENTIAL.md §6).

``$SCEAU_HOME/status-lists/ISSUER_ID/LIST.jsonl`` is append-only: a line reserves a random free
entry before the credential is anchored, another binds it to the (key, root, leaf indices) it stands
for. ``LIST.credential.json`` is the last signed list, written by whoever holds the issuer's
credential key (`sceau credential status-list`, issuing, revoking); the web service only serves it."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from certifier.config import home
from certifier.keys.credential_keys import CredentialKey
from verifier.chain import ChainReader
from verifier.credentials.linked_data import SCEAU_V1, VC_V2
from verifier.credentials.status_list import MIN_ENTRIES, encode

LIST_SIZE = MIN_ENTRIES
FILL = LIST_SIZE // 2  # a list takes new credentials until half full: random places stay unguessable


@dataclass(frozen=True)
class Slot:
    """A credential's place in a status list."""

    list_no: int
    index: int
    url: str  # the status list credential's URL (its id)

    def entry(self) -> dict[str, Any]:
        """The credential's ``credentialStatus``."""
        return {
            "id": f"{self.url}#{self.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(self.index),
            "statusListCredential": self.url,
        }


@dataclass(frozen=True)
class Binding:
    index: int
    key: str
    root: str
    leaves: tuple[int, ...]  # the credential's leaf and its document's leaf


def folder(issuer_id: int, base: Path | None = None) -> Path:
    path = (base or home()) / "status-lists" / str(issuer_id)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def list_url(base_url: str, issuer_id: int, list_no: int) -> str:
    return f"{base_url.rstrip('/')}/status/{issuer_id}/{list_no}"


@contextmanager
def _locked(issuer_id: int, base: Path | None) -> Iterator[Path]:
    where = folder(issuer_id, base)
    with open(where / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield where
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))
        f.flush()
        os.fsync(f.fileno())


def lists(issuer_id: int, base: Path | None = None) -> list[int]:
    return sorted(int(p.stem) for p in folder(issuer_id, base).glob("*.jsonl") if p.stem.isdigit())


def reserve(issuer_id: int, count: int, base_url: str, base: Path | None = None) -> list[Slot]:
    """`count` random free entries of the issuer's current list (a new list once it is half full)."""
    with _locked(issuer_id, base) as where:
        numbers = lists(issuer_id, base) or [1]
        list_no = numbers[-1]
        used = {row["index"] for row in _lines(where / f"{list_no}.jsonl") if "url" in row}
        if len(used) + count > FILL:
            list_no, used = list_no + 1, set()
        url = list_url(base_url, issuer_id, list_no)
        chosen: list[int] = []
        while len(chosen) < count:
            index = secrets.randbelow(LIST_SIZE)
            if index not in used:
                used.add(index)
                chosen.append(index)
        _append(where / f"{list_no}.jsonl", [{"index": i, "url": url} for i in chosen])
    return [Slot(list_no, i, url) for i in chosen]


def bind(issuer_id: int, slot: Slot, key: str, root: bytes, leaves: Sequence[int], base: Path | None = None) -> None:
    with _locked(issuer_id, base) as where:
        _append(
            where / f"{slot.list_no}.jsonl",
            [{"index": slot.index, "key": key, "root": "0x" + root.hex(), "leaves": list(leaves)}],
        )


def bindings(issuer_id: int, list_no: int, base: Path | None = None) -> tuple[str | None, list[Binding]]:
    """The list's URL (None when it does not exist) and its bound entries."""
    rows = _lines(folder(issuer_id, base) / f"{list_no}.jsonl")
    url = next((r["url"] for r in rows if "url" in r), None)
    bound = [Binding(r["index"], r["key"], r["root"], tuple(r["leaves"])) for r in rows if "root" in r]
    return url, bound


def revoked(reader: ChainReader, bound: Sequence[Binding], block: str = "latest") -> set[int]:
    """The entries whose credential or document is revoked on chain, as of `block` (one batch of
    eth_call; a leaf revoked on chain revokes its entry, whichever of the two it is)."""
    fn = reader.functions["documentStatus"]
    calls, owners = [], []
    for b in bound:
        for leaf in b.leaves:
            calls.append(
                (
                    "eth_call",
                    [{"to": reader.registry, "data": fn.encode(b.key, bytes.fromhex(b.root[2:]), leaf)}, block],
                )
            )
            owners.append(b.index)
    out: set[int] = set()
    for owner, raw in zip(owners, reader.rpc_batch(calls) if calls else [], strict=True):
        if int(fn.decode(raw)[0][8]):
            out.add(owner)
    return out


def build(key: CredentialKey, reader: ChainReader, url: str, bound: Sequence[Binding]) -> dict[str, Any]:
    """The signed status list credential as of the chain's latest block, which it names."""
    block = reader.rpc("eth_getBlockByNumber", ["latest", False])
    number, timestamp = int(block["number"], 16), int(block["timestamp"], 16)
    bits = revoked(reader, bound, hex(number))
    unsecured = {
        "@context": [VC_V2, SCEAU_V1],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": key.did,
        # issued now, by the issuer's clock; the block it reflects is named below (a chain's block time
        # may run ahead of wall-clock time, and a list valid only in the future helps nobody)
        "validFrom": datetime.fromtimestamp(min(timestamp, int(time.time())), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode(bits, LIST_SIZE),
        },
        "reflectsBlock": {
            "chainId": reader.chain_id(),
            "registry": reader.registry,
            "number": number,
            "hash": block["hash"],
            "timestamp": timestamp,
        },
    }
    return key.sign(unsecured)


def published_path(issuer_id: int, list_no: int, base: Path | None = None) -> Path:
    return folder(issuer_id, base) / f"{list_no}.credential.json"


def publish(issuer_id: int, key: CredentialKey, reader: ChainReader, base: Path | None = None) -> list[Path]:
    """Rebuild, sign and write every status list of the issuer; the paths written."""
    written = []
    for list_no in lists(issuer_id, base):
        url, bound = bindings(issuer_id, list_no, base)
        if url is None:
            continue
        path = published_path(issuer_id, list_no, base)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(build(key, reader, url, bound), indent=2))
        tmp.replace(path)
        written.append(path)
    return written
