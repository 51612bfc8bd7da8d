"""Settings from the environment, with the defaults a local user expects.

``SCEAU_HOME`` holds the chain state, the deployment record, the keystores and the database. It
defaults to ``$XDG_DATA_HOME/sceau`` (``~/.local/share/sceau``): data a user keeps, outside the
source tree, so that a ``git clean`` never deletes issuer keys.
"""

from __future__ import annotations

import os
from pathlib import Path

from verifier.config import rpc_url as rpc_url

DEV_CHAIN_ID = 31337
#: anvil's first well-known development account: the root authority of a local dev chain only.
DEV_ROOT_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ROOT_NAME = "Local development root authority"


def home() -> Path:
    explicit = os.environ.get("SCEAU_HOME")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "sceau"
    path.mkdir(parents=True, exist_ok=True)
    return path


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
