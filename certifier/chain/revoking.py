"""Revoking documents: one transaction per batch, whatever the number of documents in it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3 import Web3

from certifier.chain.deployment import Deployment, registry_contract
from certifier.chain.transactions import Sender, Sent
from verifier.chain import Reason
from verifier.core.receipt import Receipt


@dataclass(frozen=True)
class Revoked:
    key: str  # the issuer key that anchored the batch
    root: bytes
    indices: tuple[int, ...]
    sent: Sent


def bitmap(indices: Sequence[int]) -> tuple[int, list[int]]:
    """(offset, words) for revokeMany: bit i of word w names document offset + 256 w + i."""
    offset = min(indices) // 256 * 256
    words = [0] * ((max(indices) - offset) // 256 + 1)
    for i in indices:
        words[(i - offset) // 256] |= 1 << ((i - offset) % 256)
    return offset, words


def revoke(
    w3: Web3,
    deployment: Deployment,
    account: LocalAccount,
    receipts: Sequence[Receipt],
    reason: Reason,
    replaced_by: bytes | None = None,
) -> list[Revoked]:
    by_batch: dict[tuple[str, bytes], set[int]] = defaultdict(set)
    for r in receipts:  # a batch is named by the key that anchored it and its root
        by_batch[(Web3.to_checksum_address(r.anchor.issuer_key), r.anchor.root)].add(r.document.index)
    contract = registry_contract(w3, deployment.registry)
    sender = Sender(w3, contract, account)
    done = []
    for (key, root), index_set in by_batch.items():
        indices = sorted(index_set)
        if len(indices) == 1:
            call = contract.functions.revoke(key, root, indices[0], int(reason), replaced_by or b"\0" * 32)
        else:
            offset, words = bitmap(indices)
            call = contract.functions.revokeMany(key, root, offset, words, int(reason))
        sent = sender.send(call, f"revoking {len(indices)} document(s) of batch 0x{root.hex()[:16]}…")
        done.append(Revoked(key, root, tuple(indices), sent))
    return done
