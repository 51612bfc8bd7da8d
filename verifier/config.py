"""Where the verifier finds the chain: ``SCEAU_RPC_URL`` (default: the local node)."""

from __future__ import annotations

import os

from .chain import DEFAULT_RPC_URL


def rpc_url() -> str:
    return os.environ.get("SCEAU_RPC_URL") or DEFAULT_RPC_URL
