"""Settings from the environment, with the defaults a local user expects.

``SCEAU_HOME`` holds the chain state, the deployment record, the keystores and the database. It
defaults to ``$XDG_DATA_HOME/sceau`` (``~/.local/share/sceau``): data a user keeps, outside the
source tree, so that a ``git clean`` never deletes issuer keys.

Everything under it is private to the service's user (keys, the database with its WAL and SHM,
stored diplomas, the deployment record): `home` makes the folder 0700, and `private_umask` (set by
the CLI and the app factory before anything is written) makes every file the process or its
libraries create 0600 and every folder 0700. A umask, not a mode per call, because SQLite, Alembic,
anvil's state and gunicorn create files we never open ourselves; the code that creates files itself
passes explicit modes too (uploads, keystores, the secret key).
"""

from __future__ import annotations

import os
from pathlib import Path

from verifier.config import rpc_url as rpc_url

DEV_CHAIN_ID = 31337
#: anvil's first well-known development account: the root authority of a local dev chain only.
DEV_ROOT_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_ROOT_NAME = "Local development root authority"
PRIVATE_UMASK = 0o077


def private_umask() -> int:
    """Make the files this process creates from now on private (0600, folders 0700); returns the
    previous umask. Process-wide, hence called once at each entry point."""
    return os.umask(PRIVATE_UMASK)


def home() -> Path:
    explicit = os.environ.get("SCEAU_HOME")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "sceau"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o700)  # a home made by an older version, or by hand
    return path


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
