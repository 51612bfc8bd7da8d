"""Sending transactions to the registry: sign locally, explain reverts by their custom error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted, Web3Exception

from verifier.artifacts import registry_abi
from verifier.core.errors import ChainError, ChainUnreachable, TransactionFailed


def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = {}
    for item in registry_abi():
        if item["type"] == "error":
            types = [i["type"] for i in item["inputs"]]
            names = [i["name"] for i in item["inputs"]]
            selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
            table[selector] = (item["name"], types, names)
    return table


_ERRORS = _error_table()


def explain_revert(data: str | bytes | None) -> str:
    """``AnchorAlreadyExists(root=0x…)`` from revert data, or a plain description."""
    if not data:
        return "reverted without a reason"
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
    entry = _ERRORS.get(raw[:4])
    if entry is None:
        return f"reverted with data 0x{raw.hex()}"
    name, types, names = entry
    values = abi_decode(types, raw[4:])
    shown = ", ".join(f"{n}={_show(t, v)}" for n, t, v in zip(names, types, values, strict=True))
    return f"{name}({shown})"


def _show(abi_type: str, value: Any) -> str:
    if abi_type == "address":
        return str(to_checksum_address(value))
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


@dataclass(frozen=True)
class Sent:
    transaction_hash: bytes
    block_number: int
    block_hash: bytes
    gas_used: int
    receipt: Any


class Sender:
    """One account sending transactions to the registry."""

    def __init__(self, w3: Web3, registry: Contract, account: LocalAccount) -> None:
        self.w3 = w3
        self.registry = registry
        self.account = account

    def send(self, call: Any, what: str, *, timeout: float = 120) -> Sent:
        try:
            tx = call.build_transaction(
                {
                    "from": self.account.address,
                    "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
                }
            )
        except ContractCustomError as exc:
            raise TransactionFailed(
                f"{what} refused by the registry: {explain_revert(exc.data if isinstance(exc.data, str) else None)}"
            ) from None
        except ContractLogicError as exc:
            raise TransactionFailed(f"{what} refused by the registry: {exc.message or exc}") from None
        except OSError as exc:
            raise ChainUnreachable(f"{what}: cannot reach the chain ({exc.__class__.__name__})") from None
        except (Web3Exception, ValueError) as exc:
            raise ChainError(f"{what}: {exc}") from None
        return self.send_raw(tx, what, timeout=timeout)

    def send_raw(self, tx: dict[str, Any], what: str, *, timeout: float = 120) -> Sent:
        try:
            signed = self.account.sign_transaction(tx)
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.05)
        except TimeExhausted:
            raise ChainError(f"{what}: not mined within {timeout:.0f} s") from None
        except OSError as exc:
            raise ChainUnreachable(f"{what}: cannot reach the chain ({exc.__class__.__name__})") from None
        except (Web3Exception, ValueError) as exc:
            raise ChainError(f"{what}: {exc}") from None
        if receipt["status"] != 1:
            raise TransactionFailed(f"{what}: transaction 0x{bytes(tx_hash).hex()} reverted")
        return Sent(
            bytes(tx_hash), int(receipt["blockNumber"]), bytes(receipt["blockHash"]), int(receipt["gasUsed"]), receipt
        )

    def transfer(self, to: str, wei: int, what: str) -> Sent:
        tx = {
            "from": self.account.address,
            "to": to,
            "value": wei,
            "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
            "gas": 21000,
            "chainId": self.w3.eth.chain_id,
            "maxFeePerGas": self.w3.eth.gas_price * 2 + 1,
            "maxPriorityFeePerGas": 1,
        }
        return self.send_raw(tx, what)
