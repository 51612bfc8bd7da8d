"""The compiled registry contract: ABI for reading, bytecode for deploying. One place loads it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from verifier.core.errors import ConfigurationError

_CANDIDATES = (
    Path(__file__).parent / "artifacts",  # installed wheel
    Path(__file__).parent.parent / "contracts" / "artifacts",  # source checkout
)


@cache
def load_artifact(name: str = "AnchorRegistry") -> dict[str, Any]:
    for folder in _CANDIDATES:
        path = folder / f"{name}.json"
        if path.exists():
            artifact: dict[str, Any] = json.loads(path.read_text())
            return artifact
    raise ConfigurationError(f"compiled contract {name}.json not found in {', '.join(map(str, _CANDIDATES))}")


def registry_abi() -> list[dict[str, Any]]:
    abi: list[dict[str, Any]] = load_artifact()["abi"]
    return abi
