"""Deploying the registry, idempotently, and the record that says where it is."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from verifier.artifacts import load_artifact, registry_abi
from verifier.errors import ChainUnreachable, ConfigurationError, NotDeployed, WrongChain

from .config import DEV_CHAIN_ID, DEV_ROOT_KEY, DEV_ROOT_NAME, home, rpc_url
from .transactions import Sender


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    registry: str
    transaction_hash: str
    block_number: int
    root_authority: str
    rpc_url: str

    @classmethod
    def path(cls, base: Path | None = None) -> Path:
        return (base or home()) / "deployment.json"

    @classmethod
    def load(cls, base: Path | None = None) -> Deployment:
        path = cls.path(base)
        if not path.exists():
            raise NotDeployed(f"no deployment record at {path}: run `sceau deploy` first")
        return cls(**json.loads(path.read_text()))

    def save(self, base: Path | None = None) -> None:
        path = self.path(base)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)


def connect(url: str | None = None) -> Web3:
    url = url or rpc_url()
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    try:
        w3.eth.chain_id  # noqa: B018 - fail early with a clear message
    except OSError:
        raise ChainUnreachable(f"cannot reach the chain at {url}: start it with `sceau chain up`") from None
    return w3


def root_account(chain_id: int) -> LocalAccount:
    """The root authority's key: ``SCEAU_ROOT_KEY``, or anvil's first dev account on the dev chain."""
    key = os.environ.get("SCEAU_ROOT_KEY") or (DEV_ROOT_KEY if chain_id == DEV_CHAIN_ID else None)
    if key:
        account: LocalAccount = Account.from_key(key)
        return account
    raise ConfigurationError(
        f"chain {chain_id} is not the local dev chain: set SCEAU_ROOT_KEY to the root authority's key"
    )


def registry_contract(w3: Web3, address: str) -> Contract:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=registry_abi())


def _deployed_here(w3: Web3, address: str) -> bool:
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(address))).hex()
    return bool(code == load_artifact()["deployedBytecode"][2:])


def current(w3: Web3, base: Path | None = None) -> Deployment:
    """The deployment the record names, checked against the chain the endpoint serves."""
    record = Deployment.load(base)
    chain_id = w3.eth.chain_id
    if chain_id != record.chain_id:
        raise WrongChain(
            f"the endpoint serves chain {chain_id}, but the deployment record is for chain {record.chain_id}"
        )
    if not _deployed_here(w3, record.registry):
        raise NotDeployed(
            f"the registry {record.registry} is gone from chain {chain_id} (chain reset?): run `sceau deploy`"
        )
    return record


def deploy(w3: Web3, base: Path | None = None, root_name: str = DEV_ROOT_NAME) -> tuple[Deployment, bool]:
    """Deploy unless the recorded registry is already on this chain. Returns (deployment, created)."""
    chain_id = w3.eth.chain_id
    try:
        record = Deployment.load(base)
        if record.chain_id == chain_id and _deployed_here(w3, record.registry):
            return record, False
    except NotDeployed:
        pass
    root = root_account(chain_id)
    artifact = load_artifact()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    sent = Sender(w3, registry_contract(w3, "0x" + "00" * 20), root).send(
        factory.constructor(root.address, root_name), "deploying the registry"
    )
    address = sent.receipt["contractAddress"]
    record = Deployment(
        chain_id=chain_id,
        registry=address,
        transaction_hash="0x" + sent.transaction_hash.hex(),
        block_number=sent.block_number,
        root_authority=root.address,
        rpc_url=str(getattr(w3.provider, "endpoint_uri", "")),
    )
    record.save(base)
    return record, True
