"""The verifier is the dependency root: it works with the issuer side absent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_verifier_imports_and_verifies_offline_without_certifier() -> None:
    code = """
import sys
sys.modules['certifier'] = None  # any import of certifier now raises ImportError
import verifier.cli, verifier.web, verifier.service, verifier.verify, verifier.receipt, verifier.chain
from verifier.receipt import Receipt
from verifier.merkle import verify_proof
r = Receipt.from_json(open('tests/assets/receipts/valid__v1_diploma_batch_of_5.json','rb').read())
assert verify_proof(r.anchor.root, r.leaf, r.proof)
print('ok')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_no_verifier_module_mentions_certifier() -> None:
    for path in (ROOT / "verifier").rglob("*.py"):
        text = path.read_text()
        assert "import certifier" not in text and "from certifier" not in text, path
