"""Create the demo issuer of `make run` on the local chain, once; print how to use the service."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from certifier.chain.deployment import connect  # noqa: E402
from certifier.chain.issuers import create_issuer  # noqa: E402
from certifier.chain.localchain import effective_rpc_url  # noqa: E402
from certifier.config import home  # noqa: E402
from certifier.keys import keystore  # noqa: E402
from certifier.service.auth import create_token  # noqa: E402
from certifier.service.context import ServiceContext  # noqa: E402
from certifier.settings import Settings  # noqa: E402
from verifier.core.errors import ConfigurationError  # noqa: E402

NAME = "Université de Démonstration"


def main() -> None:
    passphrase = os.environ.get("SCEAU_KEY_PASSPHRASE") or "demo-passphrase"
    try:
        record = keystore.load(NAME)
    except ConfigurationError:
        record = create_issuer(connect(effective_rpc_url()), NAME, ("diploma", "transcript"), "0000000D", passphrase)
    port = os.environ.get("PORT", "8000")
    url = f"http://127.0.0.1:{port}"
    context = ServiceContext.create(
        settings=Settings.from_env(), db_url=None, rpc_url=effective_rpc_url(), storage=home() / "documents"
    )
    with context.sessions() as s:
        _, token = create_token(s, record.name, ["issue", "revoke", "read"], "make run demo")
        s.commit()
    context.dispose()
    print(f"demo issuer:   {record.name} (key {record.address}, issuer #{record.issuer_id})")
    print(f"service:       {url}   (OpenAPI: {url}/api/v1/openapi.json)")
    print(f"demo token:    {token}")
    print(f"verifier page: {url}/        issuer console: {url}/console/ (log in with the demo token)")
    print(f"submit:        curl -H 'Authorization: Bearer {token}' -F file=@diploma.pdf {url}/api/v1/documents")
    print(f"issue (CLI):   SCEAU_KEY_PASSPHRASE={passphrase} .venv/bin/sceau issue --issuer '{NAME}' FILE...")
    print("verify (CLI):  .venv/bin/sceau verify FILE")


if __name__ == "__main__":
    main()
