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
