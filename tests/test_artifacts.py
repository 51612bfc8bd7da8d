"""The committed contract artifacts are exactly what the pinned compiler makes of the sources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_recompiling_the_contracts_reproduces_the_committed_artifacts_byte_for_byte() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/compile_contracts.py", "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert "artifacts match solc 0.8.37" in proc.stdout


def test_artifacts_pin_the_compiler_and_its_settings() -> None:
    artifact = json.loads((ROOT / "contracts" / "artifacts" / "AnchorRegistry.json").read_text())
    assert artifact["compiler"]["version"] == "0.8.37"
    assert artifact["compiler"]["settings"]["optimizer"] == {"enabled": True, "runs": 20000}
    assert artifact["compiler"]["settings"]["evmVersion"] == "cancun"
    names = {item.get("name") for item in artifact["abi"]}
    assert {"anchor", "revoke", "revokeMany", "documentStatus", "checkDocument", "RootAnchored"} <= names
    assert {
        "accreditor",
        "issuerByIdentifier",
        "predecessor",
        "RegistrySucceeded",
        "acceptDefaultAdminTransfer",
    } <= names


def test_batches_are_named_by_key_and_root_in_the_abi() -> None:
    """The interface a receipt's verifier relies on: every read and write of a batch takes the
    anchoring key before the root (nobody can take another issuer's root)."""
    artifact = json.loads((ROOT / "contracts" / "artifacts" / "AnchorRegistry.json").read_text())
    functions = {i["name"]: [p["type"] for p in i["inputs"]] for i in artifact["abi"] if i["type"] == "function"}
    assert functions["anchor"] == ["bytes32", "uint32", "uint8"]
    assert functions["anchorOf"] == ["address", "bytes32"]
    assert functions["revoke"] == ["address", "bytes32", "uint256", "uint8", "bytes32"]
    assert functions["revokeMany"] == ["address", "bytes32", "uint256", "uint256[]", "uint8"]
    assert functions["revocationOf"] == ["address", "bytes32", "uint256"]
    assert functions["documentStatus"] == ["address", "bytes32", "uint256"]
    assert functions["checkDocument"] == ["address", "bytes32", "uint256", "bytes32", "bytes32[]"]
    [constructor] = [i for i in artifact["abi"] if i["type"] == "constructor"]
    assert [p["type"] for p in constructor["inputs"]] == ["uint48", "address", "string", "address"]
    # the predecessor is an immutable: where it sits in the deployed code is recorded for comparison
    assert artifact["immutableReferences"]
