"""JSON-RPC over HTTP to one endpoint: single calls and batches on kept-alive connections.

http.client rather than requests or web3's provider: a third of the cost per call, which matters at
thousands of verifications a second, and batches (one round trip for hundreds of reads)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from verifier.core.errors import ChainError, ChainUnreachable

RPC_BATCH = 400  # calls per JSON-RPC batch: well under anvil's ~2 MiB body limit


class JsonRpc:
    """One endpoint; every failure is a ChainError (ChainUnreachable when it cannot be reached)."""

    def __init__(self, rpc_url: str, *, timeout: float = 10.0) -> None:
        self.rpc_url = rpc_url
        self.timeout = timeout
        self._lock = threading.Lock()
        self._idle: list[http.client.HTTPConnection] = []
        parts = urlsplit(rpc_url)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def call(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC request."""
        reply = self._post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}), method)
        if not isinstance(reply, dict):
            raise ChainError(f"the chain at {self.rpc_url} answered {method} with something other than an object")
        if "error" in reply:
            raise ChainError(f"the chain at {self.rpc_url} failed on {method}: {reply['error']}")
        return reply.get("result")

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Many JSON-RPC requests as batches of RPC_BATCH, results in the order of `calls`; the
        first call that failed raises ChainError."""
        results = self.batch_each(calls)
        for r in results:
            if isinstance(r, ChainError):
                raise r
        return results

    def batch_each(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """As `batch`, but a call that failed is a ChainError in its place instead of failing
        the others (bulk checks: one reverted call is one document's error, not the report's). A
        batch the node refuses as a whole still raises."""
        results: list[Any] = []
        for start in range(0, len(calls), RPC_BATCH):
            chunk = calls[start : start + RPC_BATCH]
            body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(chunk)])
            reply = self._post(body, "a batch")
            if not isinstance(reply, list):
                raise ChainError(f"the chain at {self.rpc_url} refused a batch: {reply}")
            by_id = {r.get("id"): r for r in reply if isinstance(r, dict)}
            for i in range(len(chunk)):
                r = by_id.get(i)
                if r is None:
                    results.append(ChainError(f"the chain at {self.rpc_url} left a call of a batch unanswered"))
                elif "error" in r:
                    results.append(ChainError(f"the chain at {self.rpc_url} failed a call: {r['error']}"))
                else:
                    results.append(r.get("result"))
        return results

    def _post(self, body: str, what: str) -> Any:
        """POST a JSON-RPC body on a kept-alive connection from this endpoint's small pool
        (http.client: a third of the cost of requests per call, which matters at thousands of
        verifications a second); the parsed JSON reply."""
        data = b""
        for attempt in (1, 2):
            conn = self._take()
            try:
                conn.request("POST", self._path, body, {"Content-Type": "application/json"})
                data = conn.getresponse().read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if attempt == 2:  # a kept-alive connection may have been closed by the node: retry once
                    raise ChainUnreachable(
                        f"cannot reach the chain at {self.rpc_url} ({what}): {exc.__class__.__name__}"
                    ) from None
                continue
            self._give_back(conn)
            break
        try:
            return json.loads(data)
        except ValueError:
            raise ChainError(f"the chain at {self.rpc_url} answered {what} with something other than JSON") from None

    def _take(self) -> http.client.HTTPConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        parts = urlsplit(self.rpc_url)
        factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        return factory(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < 8:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __del__(self) -> None:  # an endpoint dropped without close() must not leak its sockets
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to release
            pass
