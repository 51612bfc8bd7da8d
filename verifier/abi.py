"""A small, fast codec for the registry's functions: selectors and types computed once from the
ABI, values encoded and decoded by eth-abi. web3's contract layer re-validates the whole ABI on
every call (about 5 ms each here); verification makes thousands of calls."""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from .artifacts import registry_abi


def abi_type(component: dict[str, Any]) -> str:
    kind = str(component["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in component["components"]) + ")" + kind[len("tuple") :]
    return kind


class Function:
    def __init__(self, item: dict[str, Any]) -> None:
        self.name = str(item["name"])
        self.inputs = [abi_type(i) for i in item["inputs"]]
        self.outputs = [abi_type(o) for o in item["outputs"]]
        self.selector = function_signature_to_4byte_selector(f"{self.name}({','.join(self.inputs)})")

    def encode(self, *args: Any) -> str:
        return "0x" + (self.selector + encode(self.inputs, list(args))).hex()

    def decode(self, data: str) -> tuple[Any, ...]:
        values = decode(self.outputs, bytes.fromhex(data[2:] if data.startswith("0x") else data))
        return tuple(_checksum(t, v) for t, v in zip(self.outputs, values, strict=True))


def _checksum(kind: str, value: Any) -> Any:
    """Addresses as EIP-55 strings, inside tuples and arrays too, as web3 returns them."""
    if kind == "address":
        return to_checksum_address(value)
    if kind.startswith("(") and isinstance(value, tuple):
        inner = _split(kind[1 : kind.rindex(")")])
        suffix = kind[kind.rindex(")") + 1 :]
        if suffix.endswith("]"):
            return [_checksum(kind[: kind.rindex(")") + 1] + suffix[: suffix.rindex("[")], v) for v in value]
        return tuple(_checksum(t, v) for t, v in zip(inner, value, strict=True))
    if kind.endswith("]") and isinstance(value, (list, tuple)):
        return [_checksum(kind[: kind.rindex("[")], v) for v in value]
    return value


def _split(types: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in types:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    if current:
        parts.append(current)
    return parts


@cache
def registry_functions() -> dict[str, Function]:
    return {item["name"]: Function(item) for item in registry_abi() if item["type"] == "function"}
