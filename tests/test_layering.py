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
import verifier.cli, verifier.web, verifier.service, verifier.verify, verifier.core.receipt, verifier.chain
from verifier.core.receipt import Receipt
from verifier.core.merkle import verify_proof
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


def test_the_core_is_pure_and_depends_on_nothing_outside_it() -> None:
    """verifier/core holds the frozen grammar: it imports the standard library's pure modules, the
    Ethereum primitives it hashes and signs with, and itself; never the network, a web framework,
    a database, an image or PDF library, or the rest of the verifier."""
    import ast

    allowed_roots = {"eth_account", "eth_hash", "eth_typing", "eth_utils", "sha3"}  # eth_typing: types only
    banned_stdlib = {"socket", "http", "urllib.request", "subprocess", "threading", "sqlite3", "os"}
    for path in sorted((ROOT / "verifier" / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert name not in banned_stdlib and root not in banned_stdlib, f"{path.name} imports {name}"
                if root in ("verifier", "certifier"):
                    assert name.startswith("verifier.core"), f"{path.name} imports {name}: outside the core"
                elif root not in sys.stdlib_module_names:
                    assert root in allowed_roots, f"{path.name} imports {name}, a third-party package"
