"""The issuer service's settings: defaults, then the instance file, then the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from certifier.config import DEV_CHAIN_ID


@dataclass(frozen=True)
class Settings:
    #: Anchor when this many documents wait. 1,000 documents make 52.6 gas each (one 52.6k-gas
    #: anchor) with proofs of 10 hashes; larger batches save little more.
    batch_size: int = 1000
    #: ...or when the oldest waiting document has waited this long: a registrar gets a receipt
    #: within minutes, and a quiet minute costs nothing (no documents, no batch).
    batch_seconds: float = 60.0
    #: Blocks on top of the anchor's before a receipt is handed out; None: 1 on the local dev
    #: chain (it never reorganises by itself), 12 elsewhere.
    confirmations: int | None = None
    #: Seconds a transaction may wait unmined before it is replaced with a 25 % higher fee.
    replace_after: float = 60.0
    #: Largest request body accepted, in bytes (uploads above it get 413).
    max_upload_bytes: int = 100 * 1024 * 1024
    #: Keep a copy of every uploaded document under the storage folder (for certified copies);
    #: 0: only fingerprint uploads as they stream by, and keep nothing.
    keep_documents: int = 1
    #: Seconds between worker passes.
    poll_interval: float = 0.2
    #: Seconds a worker's hold on an issuer's nonce lasts unless renewed.
    lease_seconds: float = 15.0
    #: Seconds the worker waits before trying an issuer again after a failure (key locked, out of
    #: funds, chain unreachable…), doubled at each failure in a row up to ``retry_max``.
    retry_base: float = 1.0
    retry_max: float = 60.0
    #: Base URL of the public verifier page (``SCEAU_VERIFIER_URL``): seals then hold a link that
    #: any phone camera opens (``BASE/#SC1:…``); empty: the bare ``SC1:`` text.
    verifier_url: str | None = None
    #: Public base URL of the issuer service (``SCEAU_PUBLIC_URL``): credentials' status list
    #: entries point at ``BASE/status/ISSUER/LIST``; None: http://127.0.0.1:8000.
    public_url: str | None = None
    #: Seconds between beginning and accepting a transfer of the root role of a registry deployed
    #: by `sceau deploy`; None: 0 on the local dev chain, 2 days elsewhere.
    admin_delay: int | None = None
    #: Reverse proxies in front of the service (``SCEAU_PROXIES``): with 1 or more, their
    #: X-Forwarded-Proto/-For/-Host are trusted (werkzeug's ProxyFix), so the console sees HTTPS
    #: and marks its cookie Secure; 0: headers are ignored, as anyone could send them.
    proxies: int = 0

    def confirmations_for(self, chain_id: int) -> int:
        if self.confirmations is not None:
            return self.confirmations
        return 1 if chain_id == DEV_CHAIN_ID else 12

    def admin_delay_for(self, chain_id: int) -> int:
        if self.admin_delay is not None:
            return self.admin_delay
        return 0 if chain_id == DEV_CHAIN_ID else 2 * 86400

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any]) -> Settings:
        """Keys are the field names upper-cased and prefixed with SCEAU_ (SCEAU_BATCH_SIZE…)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = "SCEAU_" + f.name.upper()
            if mapping.get(key) not in (None, ""):
                raw = mapping[key]
                if f.type == "str | None":
                    values[f.name] = str(raw)
                    continue
                kind = int if f.type in ("int", "int | None") else float
                try:
                    values[f.name] = kind(raw)
                except ValueError:
                    raise ValueError(f"{key}={raw!r} is not a number") from None
        return cls(**values)

    @classmethod
    def from_env(cls) -> Settings:
        return cls.from_mapping(dict(os.environ))
