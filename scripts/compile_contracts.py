"""Compile Sceau's contracts and write (or check) the committed artifacts.

A native ``solc`` on PATH of the pinned version is driven through py-solc-x; otherwise the npm
package ``solc`` (solcjs, WebAssembly, works offline) from ``node_modules``. Both produce the same
bytes for the same version and settings, which ``--check`` verifies against the committed files.

    python scripts/compile_contracts.py          # write contracts/artifacts/*.json
    python scripts/compile_contracts.py --check  # exit 1 if the committed artifacts differ
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "contracts" / "src"
ARTIFACTS = ROOT / "contracts" / "artifacts"
NODE_MODULES = ROOT / "node_modules"
SOLC_VERSION = "0.8.37"
DEPLOYED = ("AnchorRegistry",)
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 20000},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.deployedBytecode.immutableReferences",
            ]
        }
    },
}


def _sources() -> dict[str, Any]:
    """Every source unit, ours and the OpenZeppelin files they import, by stable relative names."""
    units: dict[str, Any] = {}
    pending = [f"contracts/src/{p.name}" for p in sorted(SOURCES.glob("*.sol"))]
    while pending:
        name = pending.pop()
        if name in units:
            continue
        path = ROOT / name.replace("@openzeppelin/contracts/", "node_modules/@openzeppelin/contracts/")
        text = path.read_text()
        units[name] = {"content": text}
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("import") and '"' in line:
                target = line.split('"')[1]
                if target.startswith("./") or target.startswith("../"):
                    target = str((Path(name).parent / target).as_posix())
                    parts: list[str] = []
                    for part in target.split("/"):
                        if part == "..":
                            parts.pop()
                        elif part != ".":
                            parts.append(part)
                    target = "/".join(parts)
                pending.append(target)
    return dict(sorted(units.items()))


def _run_solc(standard_input: dict[str, Any]) -> dict[str, Any]:
    native = shutil.which("solc")
    if native:
        import solcx  # type: ignore[import-untyped]

        if str(solcx.get_solc_version(with_commit_hash=False)) == SOLC_VERSION:
            output: dict[str, Any] = solcx.compile_standard(standard_input, allow_paths=str(ROOT))
            return output
    solcjs = NODE_MODULES / "solc" / "solc.js"
    if not solcjs.exists():
        raise SystemExit("solcjs not found: run `make install` (npm ci) first")
    version = json.loads((NODE_MODULES / "solc" / "package.json").read_text())["version"]
    if version != SOLC_VERSION:
        raise SystemExit(f"node_modules/solc is {version}, expected {SOLC_VERSION}: run `npm ci`")
    # solc.js's own CLI can cut long output short on a pipe: call its API and write a file.
    script = (
        "const fs=require('fs');const solc=require(process.argv[1]);"
        "const out=solc.compile(fs.readFileSync(0,'utf8'));fs.writeFileSync(process.argv[2],out);"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out_path = Path(tmp) / "out.json"
        subprocess.run(
            ["node", "-e", script, str(NODE_MODULES / "solc"), str(out_path)],
            input=json.dumps(standard_input),
            text=True,
            check=True,
            cwd=ROOT,
        )
        result: dict[str, Any] = json.loads(out_path.read_text())
    return result


def build() -> dict[str, str]:
    """Compile and return the artifact texts, keyed by file name."""
    standard_input = {"language": "Solidity", "sources": _sources(), "settings": SETTINGS}
    output = _run_solc(standard_input)
    errors = [e for e in output.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise SystemExit("\n".join(e["formattedMessage"] for e in errors))
    texts: dict[str, str] = {}
    for name in DEPLOYED:
        compiled = output["contracts"][f"contracts/src/{name}.sol"][name]
        artifact = {
            "contractName": name,
            "compiler": {"name": "solc", "version": SOLC_VERSION, "settings": SETTINGS},
            "abi": compiled["abi"],
            "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
            # where the constructor writes immutables into the deployed code (zero in deployedBytecode)
            "immutableReferences": compiled["evm"]["deployedBytecode"]["immutableReferences"],
        }
        texts[f"{name}.json"] = json.dumps(artifact, indent=1, sort_keys=True) + "\n"
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed artifacts")
    args = parser.parse_args()
    texts = build()
    if args.check:
        stale = [n for n, t in texts.items() if not (ARTIFACTS / n).exists() or (ARTIFACTS / n).read_text() != t]
        if stale:
            print(f"artifacts differ from a fresh compile: {', '.join(stale)}", file=sys.stderr)
            return 1
        print(f"artifacts match solc {SOLC_VERSION}: {', '.join(texts)}")
        return 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (ARTIFACTS / name).write_text(text)
        print(f"wrote contracts/artifacts/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
