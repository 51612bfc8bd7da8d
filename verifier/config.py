"""Where the verifier finds the chain and what it trusts.

The endpoint: ``SCEAU_RPC_URL`` (default: the local node). The trust anchors, in order:
``--trust-anchors FILE``, ``SCEAU_TRUST_ANCHORS``, then ``$SCEAU_HOME/trust-anchors.json``, which
`sceau deploy` writes for the registry it deployed (so a local dev chain needs no extra step).
With none of these, the verifier refuses to give a verdict.
"""

from __future__ import annotations

import os
from pathlib import Path

from verifier.core.anchors import TrustAnchors
from verifier.core.errors import NoTrustAnchors

DEFAULT_RPC_URL = "http://127.0.0.1:8545"

ANCHORS_FILE = "trust-anchors.json"


def rpc_url() -> str:
    return os.environ.get("SCEAU_RPC_URL") or DEFAULT_RPC_URL


def sceau_home() -> Path:
    """``SCEAU_HOME``, else ``$XDG_DATA_HOME/sceau`` (``~/.local/share/sceau``); not created here."""
    explicit = os.environ.get("SCEAU_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sceau"


def trust_anchors(explicit: Path | None = None) -> TrustAnchors:
    """The trust anchors this verifier rests on (see the module's docstring for the order)."""
    if explicit is not None:
        return TrustAnchors.load(explicit)
    from_env = os.environ.get("SCEAU_TRUST_ANCHORS")
    if from_env:
        return TrustAnchors.load(Path(from_env))
    recorded = sceau_home() / ANCHORS_FILE
    if recorded.is_file():
        return TrustAnchors.load(recorded)
    raise NoTrustAnchors(
        "no trust anchors: this verifier does not know which registry to trust. Pass --trust-anchors FILE "
        "(the file your root authority publishes, e.g. the ministry's), or set SCEAU_TRUST_ANCHORS; on a "
        f"local dev chain, `sceau deploy` writes {recorded}"
    )
