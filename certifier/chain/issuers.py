"""Issuer life cycle on chain: accreditors, accreditation (with funding on the dev chain),
suspension, listing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from web3 import Web3

from certifier.chain.deployment import current, registry_contract, root_account
from certifier.chain.transactions import Sender
from certifier.config import DEV_CHAIN_ID
from certifier.keys import keystore
from certifier.keys.keystore import IssuerKey
from verifier.chain import ChainReader, IssuerInfo
from verifier.core.errors import ConfigurationError, TransactionFailed
from verifier.core.kinds import kinds_mask

DEV_FUNDING_WEI = 10 * 10**18


def create_issuer(
    w3: Web3,
    name: str,
    kinds: tuple[str, ...],
    identifier: str | None,
    passphrase: str,
    *,
    accredit: bool = True,
    base: Path | None = None,
    make_key: Callable[[str, str, tuple[str, ...]], IssuerKey] | None = None,
) -> IssuerKey:
    """Create an issuer key (a keystore opened by `passphrase`, or what `make_key(name, identifier,
    kinds)` makes: an HSM key); on the dev chain, fund it and (unless told not to) accredit it."""
    deployment = current(w3, base)
    kinds_mask(list(kinds))  # unknown kinds fail before anything is written
    identifier = identifier or keystore.slug(name).upper()
    contract = registry_contract(w3, deployment.registry)
    if accredit and deployment.chain_id == DEV_CHAIN_ID:
        holder = contract.functions.issuerByIdentifier(identifier).call()
        if holder:  # identifiers are unique in a registry: refuse before a key is written
            raise ConfigurationError(f"issuer #{holder} already holds the identifier {identifier!r}: give another --id")
    if make_key is not None:
        record = make_key(name, identifier, kinds)
    else:
        record = keystore.create(name, identifier, kinds, passphrase, base)
    chain_id = deployment.chain_id
    if chain_id != DEV_CHAIN_ID:
        return record  # the accreditor accredits record.address on the real chain
    root = root_account(chain_id)
    sender = Sender(w3, contract, root)
    sender.transfer(record.address, DEV_FUNDING_WEI, f"funding {name}")
    if not accredit:
        return record
    sent = sender.send(
        contract.functions.accreditIssuer(name, record.identifier, kinds_mask(list(kinds))), f"accrediting {name}"
    )
    issuer_id = contract.events.IssuerAccredited().process_receipt(sent.receipt)[0]["args"]["issuerId"]
    sender.send(contract.functions.addKey(issuer_id, record.address, 0, 0), f"registering the key of {name}")
    return keystore.with_issuer_id(record, issuer_id, base)


def name_accreditor(w3: Web3, name: str, address: str, kinds: tuple[str, ...], *, base: Path | None = None) -> int:
    """As the root authority, name accreditor `address` `name` and accredit it for `kinds` (it may
    then accredit issuers for those kinds only). Returns the block number of the transaction."""
    deployment = current(w3, base)
    if not Web3.is_address(address):
        raise ConfigurationError(f"{address!r} is not an address")
    if not name.strip():
        raise ConfigurationError("an accreditor needs a name")
    mask = kinds_mask(list(kinds))
    contract = registry_contract(w3, deployment.registry)
    sender = Sender(w3, contract, root_account(deployment.chain_id))
    sent = sender.send(
        contract.functions.nameAccreditor(Web3.to_checksum_address(address), name, mask), f"naming accreditor {name}"
    )
    return sent.block_number


def suspend_issuer(w3: Web3, name: str, reason: str, *, since: int | None = None, base: Path | None = None) -> int:
    """Suspend an issuer from `since` (default: now) as the root authority. Returns the issuer id."""
    deployment = current(w3, base)
    record = keystore.load(name, base)
    if record.issuer_id is None:
        raise ConfigurationError(f"issuer {name!r} is not accredited on chain, so it cannot be suspended")
    if not reason.strip():
        raise ConfigurationError("a suspension needs a reason")
    contract = registry_contract(w3, deployment.registry)
    sender = Sender(w3, contract, root_account(deployment.chain_id))
    start = since if since is not None else int(w3.eth.get_block("latest")["timestamp"])
    try:
        sender.send(contract.functions.suspendIssuer(record.issuer_id, start, reason), f"suspending {name}")
    except TransactionFailed as exc:
        if "RegistryIssuerSuspended" in str(exc):
            raise ConfigurationError(f"issuer {name!r} is already suspended") from None
        raise
    return record.issuer_id


def list_issuers(w3: Web3, base: Path | None = None) -> list[tuple[IssuerKey, IssuerInfo | None, int]]:
    """Local issuers with their on-chain record (None when not accredited) and balance in wei."""
    deployment = current(w3, base)
    reader = ChainReader(str(getattr(w3.provider, "endpoint_uri", "")), deployment.registry)
    out = []
    for record in keystore.all_issuers(base):
        info = reader.issuer(record.issuer_id) if record.issuer_id else None
        out.append((record, info, int(w3.eth.get_balance(Web3.to_checksum_address(record.address)))))
    return out
