"""RECEIPT.md is enough to build an independent verifier: the calls it lists are the registry's,
selector for selector, so a reader who trusts the document calls what Sceau's verifier calls."""

from __future__ import annotations

import re
from pathlib import Path

from eth_utils.abi import function_signature_to_4byte_selector

from verifier.abi import registry_functions

SPEC = Path(__file__).resolve().parent.parent / "RECEIPT.md"


def test_every_call_in_receipt_md_has_the_registrys_selector() -> None:
    rows = re.findall(r"^\| `(\w+)\(([^)]*)\)`(?: / `[^`]*`)? \| `(0x[0-9a-f]{8})`", SPEC.read_text(), re.M)
    listed = {name: selector for name, _args, selector in rows}
    functions = registry_functions()
    assert {"checkDocument", "documentStatus", "revocationOf", "issuer", "keyRecord"} <= set(listed)
    for name, (_, args, selector) in zip(listed, rows, strict=True):
        types = ",".join(a.strip().split(" ")[0] for a in args.split(",") if a.strip())
        assert "0x" + function_signature_to_4byte_selector(f"{name}({types})").hex() == selector, name
        assert "0x" + functions[name].selector.hex() == selector, name
