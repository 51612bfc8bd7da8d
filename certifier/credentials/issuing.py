"""Issuing every document also as a Verifiable Credential (CREDENTIAL.md), and revoking both at once.

A document and its credential are two leaves of one batch: document i at index 2i, its credential
at 2i + 1, the same kind, dates and displayed fields. The credential's leaf fingerprints its
canonical N-Quads (verifier.credentials.verify.credential_sha256), so it is anchored, revoked and verified
like any Sceau document; its receipt is then embedded and the whole signed with the issuer's Ed25519
key, whose did:key the registry knows under a derived address (CREDENTIAL.md §4)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from certifier.chain.deployment import Deployment, registry_contract, root_account
from certifier.chain.issuing import anchor_with_receipts, check_files, fingerprint_all, receipt_path, write_receipts
from certifier.chain.merkle_batch import MerkleBatch
from certifier.chain.revoking import Revoked, bitmap
from certifier.chain.transactions import Sender, Sent
from certifier.credentials import status_registry
from certifier.credentials.building import build_credential
from certifier.keys.credential_keys import CredentialKey, load_or_create
from certifier.keys.keystore import IssuerKey
from verifier.chain import ChainReader, Reason
from verifier.core.errors import ConfigurationError, DocumentError
from verifier.core.fields import fields_sha256, normalise
from verifier.core.receipt import Receipt
from verifier.credentials.verify import (
    RECEIPT_MEMBER,
    credential_sha256,
    parse,
)


@dataclass(frozen=True)
class IssuedCredential:
    document: Path
    receipt_path: Path
    credential_path: Path
    credential_receipt_path: Path
    credential: dict[str, Any]
    receipt: Receipt  # the document's


@dataclass(frozen=True)
class IssuedWithCredentials:
    items: list[IssuedCredential]
    sent: Sent
    batch: MerkleBatch


def credential_path(document: Path, out_dir: Path | None = None) -> Path:
    name = document.name + ".credential.json"
    return (out_dir / name) if out_dir else document.with_name(name)


def credential_receipt_path(document: Path, out_dir: Path | None = None) -> Path:
    """The credential's own receipt (also embedded in it): not FILE.credential.json.receipt.json,
    which `sceau verify FILE.credential.json` would take for the receipt of the file's bytes."""
    name = document.name + ".credential.receipt.json"
    return (out_dir / name) if out_dir else document.with_name(name)


def ensure_registered(w3: Web3, deployment: Deployment, issuer_id: int, key: CredentialKey) -> bool:
    """Register the credential key for `issuer_id` under its derived address (addKey, open-ended), as
    the root authority (SCEAU_ROOT_KEY, or the dev chain's); True when it was just registered.
    Off the dev chain without that key, the error says what to ask the issuer's accreditor."""
    reader = ChainReader(str(getattr(w3.provider, "endpoint_uri", "")), deployment.registry)
    try:
        record = reader.key_record(key.registry_address)
    finally:
        reader.close()
    if record.issuer_id == issuer_id:
        return False
    if record.issuer_id:
        raise ConfigurationError(f"credential key {key.did} is registered for issuer #{record.issuer_id}")
    try:
        manager = root_account(deployment.chain_id)
    except ConfigurationError:
        raise ConfigurationError(
            f"the credential key is not registered yet: ask the accreditor of issuer #{issuer_id} to call "
            f"addKey({issuer_id}, {key.registry_address}, 0, 0) (did:key {key.did}, CREDENTIAL.md §4)"
        ) from None
    contract = registry_contract(w3, deployment.registry)
    Sender(w3, contract, manager).send(
        contract.functions.addKey(issuer_id, key.registry_address, 0, 0), "registering the credential key"
    )
    return True


def issue_with_credentials(
    w3: Web3,
    deployment: Deployment,
    account: LocalAccount,
    record: IssuerKey,
    passphrase: str,
    paths: Sequence[Path],
    fields: Sequence[Mapping[str, str]],
    *,
    kind: int,
    valid_from: int,
    valid_until: int = 0,
    status_base_url: str,
    out_dir: Path | None = None,
    base: Path | None = None,
) -> IssuedWithCredentials:
    """Anchor each file and its credential in one batch; write FILE.receipt.json,
    FILE.credential.json (signed, its receipt embedded) and FILE.credential.receipt.json; then
    publish the issuer's status lists. `fields[i]`: the displayed fields of `paths[i]`."""
    if not paths or len(fields) != len(paths):
        raise DocumentError("give one set of displayed fields (possibly empty) per file")
    if record.issuer_id is None:
        raise ConfigurationError(f"issuer {record.name!r} is not accredited on chain")
    check_files(paths)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    key, _ = load_or_create(record.name, passphrase, base)
    ensure_registered(w3, deployment, record.issuer_id, key)
    digests = fingerprint_all(paths)
    slots = status_registry.reserve(record.issuer_id, len(paths), status_base_url, base)
    credentials, leaf_digests, leaf_fields = [], [], []
    for i, (digest, shown, slot) in enumerate(zip(digests, fields, slots, strict=True)):
        credential = build_credential(
            kind=kind,
            fields=shown,
            issuer_name=record.name,
            issuer_identifier=record.identifier,
            issuer_did=key.did,
            document_sha256=digest,
            chain_id=deployment.chain_id,
            registry=deployment.registry,
            issuer_key=account.address,
            document_index=2 * i,
            valid_from=valid_from,
            valid_until=valid_until,
            status=slot.entry(),
        )
        credentials.append(credential)
        bound = fields_sha256(normalise(shown))
        leaf_digests += [digest, credential_sha256(credential)]
        leaf_fields += [bound, bound]
    batch = MerkleBatch.build(leaf_digests, kind, valid_from, valid_until, fields=leaf_fields)
    sent, receipts = anchor_with_receipts(w3, deployment, account, batch)
    written: list[tuple[Path, Receipt]] = []
    items = []
    for i, (path, credential, slot) in enumerate(zip(paths, credentials, slots, strict=True)):
        doc_receipt, cred_receipt = receipts[2 * i], receipts[2 * i + 1]
        status_registry.bind(record.issuer_id, slot, account.address, batch.root, (2 * i + 1, 2 * i), base)
        signed = key.sign({**credential, RECEIPT_MEMBER: cred_receipt.to_dict()})
        target = credential_path(path, out_dir)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(signed, indent=2, ensure_ascii=False) + "\n")
        tmp.replace(target)
        pair = (receipt_path(path, out_dir), doc_receipt), (credential_receipt_path(path, out_dir), cred_receipt)
        written += pair
        items.append(IssuedCredential(path, pair[0][0], target, pair[1][0], signed, doc_receipt))
    write_receipts(written)
    publish_status_lists(w3, deployment, record, key, base)
    return IssuedWithCredentials(items, sent, batch)


def publish_status_lists(
    w3: Web3, deployment: Deployment, record: IssuerKey, key: CredentialKey, base: Path | None = None
) -> list[Path]:
    """Rebuild the issuer's status list credentials from the chain and sign them (for the worker,
    after revocations made elsewhere, and `sceau credential status-list`)."""
    if record.issuer_id is None:
        return []
    reader = ChainReader(str(getattr(w3.provider, "endpoint_uri", "")), deployment.registry)
    try:
        return status_registry.publish(record.issuer_id, key, reader, base)
    finally:
        reader.close()


def revoke_with_credentials(
    w3: Web3,
    deployment: Deployment,
    account: LocalAccount,
    credentials: Sequence[bytes],
    reason: Reason,
) -> list[Revoked]:
    """Revoke each credential and the document it certifies: both leaves of a batch in one
    revokeMany transaction, so the chain gives them one reason at one moment."""
    by_batch: dict[tuple[str, bytes], set[int]] = defaultdict(set)
    for data in credentials:
        credential, receipt, claims = parse(data)
        index = claims.document.get("leafIndex")
        if not isinstance(index, int) or isinstance(index, bool):
            raise DocumentError(f"credential {credential.get('id')} names no document leaf")
        batch = (Web3.to_checksum_address(receipt.anchor.issuer_key), receipt.anchor.root)
        by_batch[batch] |= {receipt.document.index, index}
    contract = registry_contract(w3, deployment.registry)
    sender = Sender(w3, contract, account)
    done = []
    for (key, root), indices in by_batch.items():
        offset, words = bitmap(sorted(indices))
        call = contract.functions.revokeMany(key, root, offset, words, int(reason))
        sent = sender.send(call, f"revoking {len(indices)} leaves (documents and credentials) of 0x{root.hex()[:16]}…")
        done.append(Revoked(key, root, tuple(sorted(indices)), sent))
    return done
