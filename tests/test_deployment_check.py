"""Red team of certifier/chain/deployment.py `current` through verifier.jsonrpc.JsonRpc (the web
processes' deployment check): a node that answers oddly is a ChainError (a SceauError, which the
API and the status lists turn into a clear answer), never a TypeError or a 500; and an endpoint
of another chain that happens to have the same id and the registry at the same address (every
anvil on which `sceau deploy` ran first with the dev key) is refused: the record's genesis hash
names the chain, as the verifiers' trust anchors do.

No node is started: the endpoint is a JsonRpc whose HTTP exchange is replaced by canned replies."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from certifier.chain.deployment import Deployment, current
from verifier.artifacts import load_artifact
from verifier.core.errors import ChainError, WrongChain
from verifier.jsonrpc import JsonRpc

CHAIN_ID = 31337
GENESIS = "0x" + "44" * 32
CODE = load_artifact()["deployedBytecode"]  # immutables zero: what _is_registry_code compares to


def _record(base: Path) -> Deployment:
    record = Deployment(
        chain_id=CHAIN_ID,
        registry="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        transaction_hash="0x" + "22" * 32,
        block_number=1,
        root_authority="0x" + "33" * 20,
        rpc_url="http://127.0.0.1:8545",
        genesis_hash=GENESIS,
        predecessor=None,
        root_name="Ministère",
    )
    record.save(base)
    return record


def _right(method: str, params: list[Any]) -> dict[str, Any]:
    if method == "eth_chainId":
        return {"result": hex(CHAIN_ID)}
    if method == "eth_getCode":
        return {"result": CODE}
    if method == "eth_getBlockByNumber" and params[0] in ("0x0", "earliest"):
        return {"result": {"number": "0x0", "hash": GENESIS}}
    return {"error": {"code": -32601, "message": f"{method} not served here"}}


class CannedNode(JsonRpc):
    """A JsonRpc whose node answers `answer(method, params)` (a dict with result or error) to each
    call, or `whole(body)` to the request as a whole when given."""

    def __init__(
        self,
        answer: Callable[[str, list[Any]], dict[str, Any]] = _right,
        whole: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__("http://127.0.0.1:9/")
        self.answer, self.whole = answer, whole

    def _post(self, body: str, what: str) -> Any:
        request = json.loads(body)
        if self.whole is not None:
            return self.whole(request)
        calls = request if isinstance(request, list) else [request]
        replies = [{"jsonrpc": "2.0", "id": c["id"], **self.answer(c["method"], c["params"])} for c in calls]
        return replies if isinstance(request, list) else replies[0]


def _odd(method: str, value: Any) -> Callable[[str, list[Any]], dict[str, Any]]:
    def answer(m: str, params: list[Any]) -> dict[str, Any]:
        return value if m == method else _right(m, params)

    return answer


def test_a_node_that_answers_rightly_gives_the_record(tmp_path: Path) -> None:
    record = _record(tmp_path)
    assert current(CannedNode(), tmp_path) == record


ODD = [
    pytest.param(_odd("eth_chainId", {"result": CHAIN_ID}), id="chainId as a JSON number"),
    pytest.param(_odd("eth_chainId", {"result": None}), id="chainId null"),
    pytest.param(_odd("eth_chainId", {}), id="chainId: neither result nor error"),
    pytest.param(_odd("eth_chainId", {"result": "lots"}), id="chainId not hex"),
    pytest.param(_odd("eth_chainId", {"result": ["0x7a69"]}), id="chainId a list"),
    pytest.param(_odd("eth_getCode", {"result": None}), id="code null"),
    pytest.param(_odd("eth_getCode", {}), id="code: neither result nor error"),
    pytest.param(_odd("eth_getCode", {"result": "0x123"}), id="code of odd length"),
    pytest.param(_odd("eth_getCode", {"result": "0xzz"}), id="code not hex"),
    pytest.param(_odd("eth_getCode", {"result": 0}), id="code a number"),
]


@pytest.mark.parametrize("answer", ODD)
def test_an_odd_answer_is_a_chain_error_not_a_crash(tmp_path: Path, answer: Any) -> None:
    _record(tmp_path)
    with pytest.raises(ChainError):
        current(CannedNode(answer), tmp_path)


@pytest.mark.parametrize(
    "whole",
    [
        pytest.param(lambda _: {"jsonrpc": "2.0", "id": None, "error": {"code": -32600}}, id="the batch refused"),
        pytest.param(lambda _: [], id="an empty batch answer"),
        pytest.param(lambda _: ["x", 1, None], id="not objects"),
        pytest.param(lambda req: [{"id": c["id"], "error": {"message": "boom"}} for c in req], id="errors"),
    ],
)
def test_a_refused_or_failed_batch_is_a_chain_error(tmp_path: Path, whole: Any) -> None:
    """Pins what holds today: JsonRpc.batch says these itself."""
    _record(tmp_path)
    with pytest.raises(ChainError):
        current(CannedNode(whole=whole), tmp_path)


def test_another_chain_with_the_same_id_and_the_registry_at_the_same_address_is_refused(tmp_path: Path) -> None:
    """Two anvils (the decoy on 8545 of conftest.py, a restarted one, another SCEAU_HOME's) share
    chain id 31337, and `sceau deploy` with the dev key as first transaction puts the registry at
    the same address with the same code on each. The record names its chain by genesis hash too
    (Deployment.genesis_hash); `current` does not look at it, so the web app pointed at the wrong
    node takes it for its deployment: status lists are then checked against another chain's
    revocations, and the anchors served name a genesis the receipts' chain does not have."""
    _record(tmp_path)

    def other_chain(method: str, params: list[Any]) -> dict[str, Any]:
        if method == "eth_getBlockByNumber":
            return {"result": {"number": "0x0", "hash": "0x" + "55" * 32}}
        return _right(method, params)

    with pytest.raises(WrongChain, match="genesis"):
        current(CannedNode(other_chain), tmp_path)
