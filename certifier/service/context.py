"""What the service and the worker share: settings, the database, and lazy chain access."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from certifier.settings import Settings
from certifier.store.db import database_url, session_factory, upgrade

if TYPE_CHECKING:  # web3 is imported on first use: most web requests never touch it (~50 MiB each process)
    from web3 import Web3

    from certifier.chain.deployment import Deployment


@dataclass
class ServiceContext:
    settings: Settings
    database_url: str
    rpc_url: str
    storage: Path
    sessions: sessionmaker[Session] = field(init=False)
    _w3: Web3 | None = field(default=None, init=False)
    _deployment: Deployment | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        upgrade(self.database_url)
        self.sessions = session_factory(self.database_url)
        self.storage.mkdir(parents=True, exist_ok=True)

    @classmethod
    def create(cls, *, settings: Settings, db_url: str | None, rpc_url: str, storage: Path) -> ServiceContext:
        return cls(settings, database_url(db_url), rpc_url, storage)

    @property
    def w3(self) -> Web3:
        with self._lock:
            if self._w3 is None:
                from certifier.chain.deployment import connect

                self._w3 = connect(self.rpc_url)
            return self._w3

    @property
    def deployment(self) -> Deployment:
        if self._deployment is None:
            from certifier.chain.deployment import current
            from verifier.jsonrpc import JsonRpc

            rpc = JsonRpc(self.rpc_url)
            try:
                self._deployment = current(rpc)
            finally:
                rpc.close()
        return self._deployment

    def dispose(self) -> None:
        engine: Any = self.sessions.kw.get("bind")
        if engine is not None:
            engine.dispose()
