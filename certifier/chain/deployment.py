"""Deploying the registry, idempotently, and the record that says where it is."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from certifier.config import DEV_CHAIN_ID, DEV_ROOT_KEY, DEV_ROOT_NAME, home, rpc_url
from certifier.settings import Settings
from verifier.artifacts import load_artifact, registry_abi
from verifier.config import ANCHORS_FILE
from verifier.core.anchors import TrustAnchor, TrustAnchors
from verifier.core.errors import ChainError, ChainUnreachable, ConfigurationError, NotDeployed, SceauError, WrongChain
from verifier.core.hashing import checksum_address
from verifier.jsonrpc import JsonRpc

if TYPE_CHECKING:  # web3 and eth-account are imported where used: the web processes read the record only
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.contract import Contract


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    registry: str
    transaction_hash: str
    block_number: int
    root_authority: str
    rpc_url: str
    #: 0x hex of the chain's block 0 hash: with chain_id, names the chain (dev chains share an id).
    genesis_hash: str
    #: The registry this one succeeds (`sceau deploy --predecessor`), None for the first.
    predecessor: str | None
    #: The root authority's display name, as given to the registry's constructor.
    root_name: str

    @classmethod
    def path(cls, base: Path | None = None) -> Path:
        return (base or home()) / "deployment.json"

    @classmethod
    def load(cls, base: Path | None = None) -> Deployment:
        path = cls.path(base)
        if not path.exists():
            raise NotDeployed(f"no deployment record at {path}: run `sceau deploy` first")
        data = json.loads(path.read_text())
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) != names:
            raise NotDeployed(f"the deployment record {path} is not one this version writes: run `sceau deploy`")
        return cls(**data)

    def save(self, base: Path | None = None) -> None:
        path = self.path(base)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)


def connect(url: str | None = None) -> Web3:
    from web3 import Web3

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
        from eth_account import Account

        account: LocalAccount = Account.from_key(key)
        return account
    raise ConfigurationError(
        f"chain {chain_id} is not the local dev chain: set SCEAU_ROOT_KEY to the root authority's key"
    )


def registry_contract(w3: Web3, address: str) -> Contract:
    return w3.eth.contract(address=checksum_address(address), abi=registry_abi())


def _code(w3: Web3, address: str) -> bytes:
    return bytes(w3.eth.get_code(checksum_address(address)))


def _is_registry_code(deployed: bytes) -> bool:
    """Whether `deployed` is this version's registry code, immutables (the predecessor) aside."""
    code = bytearray(deployed)
    artifact = load_artifact()
    for refs in artifact["immutableReferences"].values():
        for ref in refs:
            start, length = int(ref["start"]), int(ref["length"])
            code[start : start + length] = bytes(len(code[start : start + length]))
    return bool(code.hex() == artifact["deployedBytecode"][2:])


def current(chain: Web3 | JsonRpc, base: Path | None = None) -> Deployment:
    """The deployment the record names, checked against the chain the endpoint serves (through
    web3, or the light JSON-RPC client the web processes use: both ask the same two questions)."""
    record = Deployment.load(base)
    if isinstance(chain, JsonRpc):
        chain_hex, code_hex, block0 = chain.batch(
            [
                ("eth_chainId", []),
                ("eth_getCode", [record.registry, "latest"]),
                ("eth_getBlockByNumber", ["0x0", False]),
            ]
        )
        chain_id = int(_answer(chain_hex, _QUANTITY, "eth_chainId", chain.rpc_url), 16)
        code = bytes.fromhex(_answer(code_hex, _DATA, "eth_getCode", chain.rpc_url)[2:])
        genesis = _answer(block0.get("hash") if isinstance(block0, dict) else None, _HASH, "block 0", chain.rpc_url)
    else:
        chain_id, code = chain.eth.chain_id, _code(chain, record.registry)
        genesis = "0x" + bytes(chain.eth.get_block(0)["hash"]).hex()
    if chain_id != record.chain_id:
        raise WrongChain(
            f"the endpoint serves chain {chain_id}, but the deployment record is for chain {record.chain_id}"
        )
    if not _is_registry_code(code):
        raise NotDeployed(
            f"the registry {record.registry} is gone from chain {chain_id} (chain reset?): run `sceau deploy`"
        )
    if genesis.lower() != record.genesis_hash.lower():
        raise WrongChain(
            f"the endpoint serves another chain {chain_id} (genesis {genesis}) than the deployment record's "
            f"(genesis {record.genesis_hash}): another node with the same chain id?"
        )
    return record


_QUANTITY = re.compile(r"0x[0-9a-fA-F]{1,64}")
_DATA = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


def _answer(value: object, pattern: re.Pattern[str], what: str, url: str) -> str:
    """A node's answer of the JSON-RPC form `pattern`, else a ChainError that says what came."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ChainError(f"the chain at {url} answered {what} with {str(value)[:80]!r}, not JSON-RPC hex")
    return value


def deploy(
    w3: Web3,
    base: Path | None = None,
    root_name: str = DEV_ROOT_NAME,
    *,
    predecessor: str | None = None,
    admin_delay: int | None = None,
) -> tuple[Deployment, bool]:
    """Deploy unless the recorded registry is already on this chain (`current`: the same chain id,
    registry code and genesis block; a record made on another chain is replaced). Returns
    (deployment, created).

    With `predecessor`, always deploy: a successor of the registry at that address (which must be a
    registry on this chain), replacing the record. `admin_delay` is the delay in seconds of a
    transfer of the root role (default: the ``SCEAU_ADMIN_DELAY`` setting, or 0 on the dev chain
    and 2 days elsewhere)."""
    from web3 import Web3

    from certifier.chain.transactions import Sender

    chain_id = w3.eth.chain_id
    if predecessor is None:
        try:  # the record is kept only for the chain it was made on: its id, its code, its genesis
            record = current(w3, base)
            write_trust_anchors(record, base)
            return record, False
        except (NotDeployed, WrongChain):
            pass
    else:
        if not Web3.is_address(predecessor):
            raise ConfigurationError(f"--predecessor {predecessor!r} is not an address")
        predecessor = Web3.to_checksum_address(predecessor)
        if not bytes(w3.eth.get_code(predecessor)):  # an older registry has other code: only ask for some
            raise NotDeployed(f"no registry at {predecessor} on chain {chain_id} to succeed")
    if admin_delay is None:
        admin_delay = Settings.from_env().admin_delay_for(chain_id)
    root = root_account(chain_id)
    artifact = load_artifact()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    genesis_hash = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    sent = Sender(w3, registry_contract(w3, "0x" + "00" * 20), root).send(
        factory.constructor(admin_delay, root.address, root_name, predecessor or "0x" + "00" * 20),
        "deploying the registry" + (f" succeeding {predecessor}" if predecessor else ""),
    )
    address = sent.receipt["contractAddress"]
    record = Deployment(
        chain_id=chain_id,
        registry=address,
        transaction_hash="0x" + sent.transaction_hash.hex(),
        block_number=sent.block_number,
        root_authority=root.address,
        rpc_url=str(getattr(w3.provider, "endpoint_uri", "")),
        genesis_hash=genesis_hash,
        predecessor=predecessor,
        root_name=root_name,
    )
    record.save(base)
    write_trust_anchors(record, base)
    return record, True


def trust_anchor(record: Deployment) -> TrustAnchor:
    """The trust anchor a verifier needs for this deployment."""
    return TrustAnchor(
        name=record.root_name,
        chain_id=record.chain_id,
        genesis_hash=bytes.fromhex(record.genesis_hash[2:]),
        registry=checksum_address(record.registry),
        root_authority=checksum_address(record.root_authority),
        predecessor=record.predecessor,
    )


def write_trust_anchors(record: Deployment, base: Path | None = None) -> Path:
    """``$SCEAU_HOME/trust-anchors.json``: this deployment's anchor, so that the local verifier
    trusts the registry `sceau deploy` made and nothing else. A successor keeps its predecessors'
    anchors (same chain), so that their receipts keep verifying."""
    path = (base or home()) / ANCHORS_FILE
    anchors = [trust_anchor(record)]
    if record.predecessor and path.is_file():
        try:
            held = TrustAnchors.load(path)
        except SceauError:
            held = None
        if held is not None:
            anchors += [
                a
                for a in held
                if a.registry != anchors[0].registry
                and a.chain_id == record.chain_id
                and a.genesis_hash == anchors[0].genesis_hash
            ]
    text = TrustAnchors(tuple(anchors), str(path)).to_json()
    if path.is_file() and path.read_text() == text:
        return path
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path
