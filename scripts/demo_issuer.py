"""Create the demo issuer of `make run` on the local chain, once; print how to use the service."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certifier import keystore  # noqa: E402
from certifier.deployment import connect  # noqa: E402
from certifier.issuers import create_issuer  # noqa: E402
from certifier.localchain import effective_rpc_url  # noqa: E402
from verifier.errors import ConfigurationError  # noqa: E402

NAME = "Université de Démonstration"


def main() -> None:
    passphrase = os.environ.get("SCEAU_KEY_PASSPHRASE") or "demo-passphrase"
    try:
        record = keystore.load(NAME)
    except ConfigurationError:
        record = create_issuer(connect(effective_rpc_url()), NAME, ("diploma", "transcript"), "0000000D", passphrase)
    port = os.environ.get("PORT", "8000")
    print(f"demo issuer: {record.name} (key {record.address}, issuer #{record.issuer_id})")
    print(f"issue:  SCEAU_KEY_PASSPHRASE={passphrase} .venv/bin/sceau issue --issuer '{NAME}' FILE...")
    print("verify: .venv/bin/sceau verify FILE")
    print(f"service: http://127.0.0.1:{port}/healthz  (POST /api/v1/verify with file + receipt)")


if __name__ == "__main__":
    main()
