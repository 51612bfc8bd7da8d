"""Helpers for driving the registry directly in contract tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractCustomError

from certifier.chain.transactions import Sender, Sent, explain_revert
from certifier.config import DEV_ROOT_KEY


@dataclass
class Actor:
    account: LocalAccount
    sender: Sender

    @property
    def address(self) -> str:
        return self.account.address

    def send(self, call: Any) -> Sent:
        return self.sender.send(call, "test transaction")

    def reverts(self, call: Any) -> str:
        """The custom error (with arguments) that `call` reverts with when this actor sends it."""
        with pytest.raises(ContractCustomError) as info:
            call.estimate_gas({"from": self.address})
        return explain_revert(info.value.data)


def actor(w3: Web3, contract: Any, key: str | None = None, fund: bool = True) -> Actor:
    account = Account.from_key(key) if key else Account.from_key(os.urandom(32))
    if fund and key is None:
        root = Sender(w3, contract, Account.from_key(DEV_ROOT_KEY))
        root.transfer(account.address, 10**18, "funding a test actor")
    return Actor(account, Sender(w3, contract, account))


def root_actor(w3: Web3, contract: Any) -> Actor:
    return actor(w3, contract, DEV_ROOT_KEY)


def advance(w3: Web3, seconds: int) -> int:
    """Move chain time forward and mine; returns the new block's timestamp."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return int(w3.eth.get_block("latest")["timestamp"])


def latest_time(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def random_root() -> bytes:
    return os.urandom(32)
