"""Red team of verifier/core/receipt.py `_proof` (one match over the joined nodes): it accepts
exactly what the node-by-node parse accepts, on inputs tests/test_receipt_corpus.py does not draw:
str subclasses, nodes of 66 characters made of Unicode digits, fullwidth letters, commas and
"0X", empty lists, and lists up to MAX_PROOF_LENGTH (32: longer ones are refused before _proof);
and through Receipt.from_json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.core.errors import InvalidReceipt, ReceiptTypeError
from verifier.core.merkle import MAX_PROOF_LENGTH
from verifier.core.receipt import Receipt, _bytes32, _proof

CORPUS = Path(__file__).parent / "assets" / "receipts"


class Text(str):
    """A str subclass: the fast path's type(p) is str sends it to the slow one."""


_NEAR = "0123456789abcdefABCDEFxX,\u0663\uff10\uff41 "
_GOOD = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
_NODE = st.one_of(
    _GOOD,
    _GOOD.map(Text),
    st.text(alphabet=_NEAR, min_size=66, max_size=66),  # the right length, hostile characters
    st.text(alphabet=_NEAR, min_size=64, max_size=64).map(lambda s: "0x" + s),
    st.tuples(_GOOD, st.integers(2, 65), st.sampled_from(list(_NEAR))).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]  # one character changed
    ),
    _GOOD.map(lambda s: s.replace("0x", "0X", 1)),
    _GOOD.map(lambda s: s[:33] + "," + s[34:]),  # a comma where the join puts none
    st.builds(bytes, st.binary(min_size=32, max_size=32)),
    st.floats(),
    st.booleans(),
)


def _slow(nodes: list[Any]) -> object:
    try:
        return tuple(_bytes32(p, f"proof[{i}]") for i, p in enumerate(nodes))
    except ReceiptTypeError as exc:
        return str(exc)


def _fast(nodes: list[Any]) -> object:
    try:
        return _proof(nodes)
    except ReceiptTypeError as exc:
        return str(exc)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_NODE, max_size=8))
def test_the_fast_parse_and_the_node_by_node_parse_agree_on_hostile_nodes(nodes: list[Any]) -> None:
    assert _fast(nodes) == _slow(nodes)


@settings(max_examples=40, deadline=None)
@given(st.lists(_GOOD, min_size=0, max_size=MAX_PROOF_LENGTH), st.data())
def test_they_agree_on_long_proofs_with_one_node_spoilt_anywhere(drawn: list[str], data: st.DataObject) -> None:
    nodes: list[Any] = list(drawn)
    assert _fast(nodes) == _slow(nodes)
    if nodes:
        i = data.draw(st.integers(0, len(nodes) - 1))
        spoilt = data.draw(st.sampled_from(["0x" + "0" * 63 + "\u0663", nodes[i].upper(), Text(nodes[i]), 7]))
        nodes[i] = spoilt
        assert _fast(nodes) == _slow(nodes)


def test_through_the_receipt_parser_a_spoilt_node_is_named_and_an_empty_proof_kept() -> None:
    """End to end from a receipt of the corpus: the same verdicts as the node-by-node parse."""
    valid = next(p for p in sorted(CORPUS.glob("valid__*.json")) if json.loads(p.read_bytes())["proof"])
    obj = json.loads(valid.read_bytes())
    n = len(obj["proof"])
    assert Receipt.from_json(json.dumps(obj).encode()).proof == tuple(bytes.fromhex(p[2:]) for p in obj["proof"])
    obj["proof"][n - 1] = "0x" + "0" * 63 + "\u0663"
    with pytest.raises(InvalidReceipt, match=rf"proof\[{n - 1}\]"):
        Receipt.from_json(json.dumps(obj, ensure_ascii=False).encode())
    obj["proof"] = []
    assert Receipt.from_json(json.dumps(obj).encode()).proof == ()
