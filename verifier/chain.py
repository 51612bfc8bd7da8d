"""Read-only access to the registry on chain. The verifier's only window on the chain.

Why one module of this size: every read the verifier makes of a chain goes through here (one
transport, one decoding, one cache keyed by block), so that what the verifier trusts of an endpoint
can be reviewed in one place."""

from __future__ import annotations

import enum
import http.client
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import Web3Exception

from verifier.abi import checksummed, registry_functions
from verifier.artifacts import registry_abi
from verifier.core.errors import ChainError, ChainUnreachable, NotDeployed, WrongChain

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
RPC_BATCH = 400  # calls per JSON-RPC batch: well under anvil's ~2 MiB body limit


#: Revocation codes are 4-bit nibbles on chain: 0 to 5 are the ``Reason`` members, 6 to 15 are
#: reserved for reasons a later registry may add. Chain data therefore carries the code as an int
#: (``DocumentStatus.revocation``), named with ``Reason.slug_of``; ``Reason`` itself stays the closed
#: set of reasons this version may write.
MAX_REASON_CODE = 15


class Reason(enum.IntEnum):
    """Revocation reasons, with the codes of the contract's ``Reason`` enum."""

    NONE = 0
    FRAUD = 1
    CLERICAL_ERROR = 2
    ANNULMENT = 3
    KEY_COMPROMISE = 4
    SUPERSEDED = 5

    @property
    def slug(self) -> str:
        return self.name.lower()

    @classmethod
    def slug_of(cls, code: int) -> str:
        """The slug of a revocation code read from chain: ``fraud``…, or ``unknown_6`` for a code
        this version does not know (the document is revoked all the same)."""
        try:
            return cls(code).slug
        except ValueError:
            return f"unknown_{int(code)}"

    @classmethod
    def from_slug(cls, slug: str) -> Reason:
        try:
            reason = cls[slug.upper().replace("-", "_")]
        except KeyError:
            reason = cls.NONE
        if reason is cls.NONE:
            names = ", ".join(r.slug for r in cls if r is not cls.NONE)
            raise ValueError(f"unknown revocation reason {slug!r}; use one of: {names}")
        return reason


@dataclass(frozen=True, slots=True)
class DocumentStatus:
    anchored: bool
    anchored_at: int
    key: str
    issuer_id: int
    document_count: int
    kind: int
    key_valid_at_anchoring: bool
    issuer_active_at_anchoring: bool
    revocation: int  # 0 when not revoked, else a reason code (Reason.slug_of names it, even a reserved one)


@dataclass(frozen=True, slots=True)
class Head:
    """The block a verdict rests on."""

    number: int
    hash: str
    timestamp: int

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "hash": self.hash, "timestamp": self.timestamp}


#: The registry's events that change what `issuer(id)` returns; the issuer id is their first topic.
_ISSUER_EVENTS = (
    "IssuerAccredited(uint32,address,string,string,uint32)",
    "IssuerKindsChanged(uint32,uint32)",
    "IssuerSuspended(uint32,uint40,string)",
    "IssuerReinstated(uint32,uint40)",
    "KeyAdded(uint32,address,uint40,uint40)",
    "KeyValidityEnded(uint32,address,uint40,bool)",
    "AccreditorNamed(address,string,uint32)",
)
_ACCREDITOR_EVENT = "AccreditorNamed(address,string,uint32)"
LOG_RANGE = 10_000  # blocks per eth_getLogs: public providers refuse wider ranges
MAX_CACHED_ISSUERS = 100_000


def _topic(signature: str) -> str:
    return "0x" + Web3.keccak(text=signature).hex().removeprefix("0x")


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """The registration of an issuer key (issuer_id 0 when unknown)."""

    issuer_id: int
    valid_from: int
    valid_until: int  # exclusive; 2**40 - 1 when open-ended
    compromised: bool  # its validity was cut off for a compromise, not ended by a rotation or closure


@dataclass(frozen=True, slots=True)
class Suspension:
    start: int
    until: int  # 0 while it lasts
    reason: str


@dataclass(frozen=True, slots=True)
class IssuerInfo:
    id: int
    name: str
    identifier: str
    kinds: int
    accreditor: str
    accreditor_name: str
    accredited_at: int
    suspended: bool
    suspensions: tuple[Suspension, ...]

    @classmethod
    def from_abi(cls, raw: Any) -> IssuerInfo:
        """From the registry's `IssuerView` tuple."""
        return cls(
            id=raw[0],
            name=raw[1],
            identifier=raw[2],
            kinds=raw[3],
            accreditor=raw[4],
            accreditor_name=raw[5],
            accredited_at=raw[6],
            suspended=raw[7],
            suspensions=tuple(Suspension(s[0], s[1], s[2]) for s in raw[8]),
        )


@dataclass(frozen=True, slots=True)
class RevocationEvent:
    revoked_at: int
    block_number: int
    transaction_hash: str
    replaced_by: bytes | None


class ChainReader:
    """Reads one registry through a JSON-RPC endpoint. Every chain failure becomes a ChainError."""

    def __init__(self, rpc_url: str, registry: str, *, timeout: float = 10.0) -> None:
        self.rpc_url = rpc_url
        self.timeout = timeout
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        self.registry = to_checksum_address(registry)
        self.contract = self.w3.eth.contract(address=self.registry, abi=registry_abi())
        self.functions = registry_functions()
        self._lock = threading.Lock()
        self._idle: list[http.client.HTTPConnection] = []
        parts = urlsplit(rpc_url)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._chain_id: int | None = None
        self._issuer_cache: dict[int, IssuerInfo] = {}
        self._head: Head | None = None
        self._head_read_at = 0.0
        self._status_cache: dict[tuple[Any, ...], tuple[bool, DocumentStatus]] = {}

    def rpc(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC request."""
        reply = self._post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}), method)
        if not isinstance(reply, dict):
            raise ChainError(f"the chain at {self.rpc_url} answered {method} with something other than an object")
        if "error" in reply:
            raise ChainError(f"the chain at {self.rpc_url} failed on {method}: {reply['error']}")
        return reply.get("result")

    def rpc_batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Many JSON-RPC requests as batches of RPC_BATCH, results in the order of `calls`."""
        results: list[Any] = []
        for start in range(0, len(calls), RPC_BATCH):
            chunk = calls[start : start + RPC_BATCH]
            body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(chunk)])
            reply = self._post(body, "a batch")
            if not isinstance(reply, list):
                raise ChainError(f"the chain at {self.rpc_url} refused a batch: {reply}")
            by_id = {r.get("id"): r for r in reply if isinstance(r, dict)}
            for i in range(len(chunk)):
                r = by_id.get(i, {})
                if "error" in r:
                    raise ChainError(f"the chain at {self.rpc_url} failed a call: {r['error']}")
                results.append(r.get("result"))
        return results

    def _post(self, body: str, what: str) -> Any:
        """POST a JSON-RPC body on a kept-alive connection from this reader's small pool
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

    def __del__(self) -> None:  # a reader dropped without close() must not leak its sockets
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to release
            pass

    def call_request(self, name: str, *args: Any, block: str = "latest") -> tuple[str, list[Any]]:
        """The JSON-RPC method and params of a view call of the registry, for `rpc` or `rpc_batch`;
        `block` a tag or a hex block number."""
        return "eth_call", [{"to": self.registry, "data": self.functions[name].encode(*args)}, block]

    def eth_call(self, name: str, *args: Any, block: str = "latest") -> tuple[Any, ...]:
        fn = self.functions[name]
        data = self.rpc(*self.call_request(name, *args, block=block))
        if not data or data == "0x":
            raise NotDeployed(f"no Sceau registry answers at {self.registry} on {self.rpc_url}")
        try:
            return fn.decode(data)
        except Exception as exc:  # eth-abi raises several decoding errors
            raise ChainError(f"the registry's answer to {name} cannot be decoded ({exc.__class__.__name__})") from None

    def _call(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except OSError as exc:
            raise ChainUnreachable(
                f"cannot reach the chain at {self.rpc_url} ({what}): {exc.__class__.__name__}"
            ) from None
        except (Web3Exception, ValueError) as exc:
            raise ChainError(f"the chain at {self.rpc_url} failed on {what}: {exc}") from None

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.rpc("eth_chainId", []), 16)
        return self._chain_id

    def require_chain(self, expected: int) -> None:
        actual = self.chain_id()
        if actual != expected:
            raise WrongChain(f"the endpoint {self.rpc_url} serves chain {actual}, but chain {expected} is expected")

    def require_registry(self) -> None:
        code = self._call("eth_getCode", lambda: self.w3.eth.get_code(self.registry))
        if not code:
            raise NotDeployed(f"no Sceau registry at {self.registry} on chain {self.chain_id()}")

    def check_document(
        self, key: str, root: bytes, index: int, leaf: bytes, proof: list[bytes], *, head: Head | None = None
    ) -> tuple[bool, DocumentStatus]:
        """Document `index` of the batch that `key` anchored as `root`, with the on-chain proof check,
        as of block `head` (read once per block: a second verification of the same document in the
        same block asks the chain nothing)."""
        at = hex(head.number) if head is not None else "latest"
        cache_key = (head.hash if head is not None else None, checksummed(key), root, index, leaf, tuple(proof))
        if head is not None:
            with self._lock:
                found = self._status_cache.get(cache_key)
            if found is not None:
                return found
        proof_valid, raw = self.eth_call("checkDocument", checksummed(key), root, index, leaf, proof, block=at)
        answer = bool(proof_valid), _status(raw)
        if head is not None:
            with self._lock:
                self._status_cache[cache_key] = answer
        return answer

    # ------------------------------------------------------------ the block a verdict rests on

    def head(self, freshness: float) -> Head:
        """The latest block, re-read when the one held is older than `freshness` seconds. On a new
        block, the answers cached for older blocks are dropped, and issuers named by the registry's
        events since the last block seen are read afresh (their records change only through events)."""
        now = time.monotonic()
        with self._lock:
            held, read_at = self._head, self._head_read_at
        if held is not None and now - read_at < freshness:
            return held
        raw = self.rpc("eth_getBlockByNumber", ["latest", False])
        if not isinstance(raw, dict):
            raise ChainError(f"the chain at {self.rpc_url} did not answer eth_getBlockByNumber")
        head = Head(int(raw["number"], 16), str(raw["hash"]), int(raw["timestamp"], 16))
        if held is not None and head.hash != held.hash:
            self._forget_changed_issuers(held.number, head.number)
        with self._lock:
            if held is None or head.hash != held.hash:
                self._status_cache = {}
            self._head, self._head_read_at = head, now
        return head

    def _forget_changed_issuers(self, after: int, upto: int) -> None:
        """Drop the cached records of issuers the registry's events name in blocks (after, upto]."""
        if upto <= after or not self._issuer_cache:
            return
        topics = [[_topic(sig) for sig in _ISSUER_EVENTS]]
        try:
            logs = []
            for start in range(after + 1, upto + 1, LOG_RANGE):
                end = min(start + LOG_RANGE - 1, upto)
                logs += self.rpc(
                    "eth_getLogs",
                    [{"address": self.registry, "fromBlock": hex(start), "toBlock": hex(end), "topics": topics}],
                )
        except ChainError:
            logs = None
        with self._lock:
            if logs is None or any(log["topics"][0] == _topic(_ACCREDITOR_EVENT) for log in logs):
                self._issuer_cache = {}  # cannot tell who changed, or an accreditor renamed: read all afresh
                return
            for log in logs:
                self._issuer_cache.pop(int(log["topics"][1], 16), None)

    def document_status(self, key: str, root: bytes, index: int) -> DocumentStatus:
        return _status(self.eth_call("documentStatus", checksummed(key), root, index)[0])

    def issuer(self, issuer_id: int) -> IssuerInfo:
        """The issuer's record, cached until the registry's events say it changed (see `head`):
        verification only displays it (whether the issuer was accredited when it anchored comes from
        documentStatus, read at the verdict's block)."""
        cached = self._issuer_cache.get(issuer_id)
        if cached is not None:
            return cached
        info = self._read_issuer(issuer_id)
        with self._lock:
            if len(self._issuer_cache) < MAX_CACHED_ISSUERS:
                self._issuer_cache[issuer_id] = info
        return info

    def _read_issuer(self, issuer_id: int) -> IssuerInfo:
        (raw,) = self.eth_call("issuer", issuer_id)
        return IssuerInfo.from_abi(raw)

    def prefetch_issuers(self, issuer_ids: list[int]) -> None:
        """Read many issuers in JSON-RPC batches into the cache (bulk checks)."""
        decode = self.functions["issuer"].decode
        for issuer_id, raw in zip(
            issuer_ids, self.rpc_batch([self.call_request("issuer", i) for i in issuer_ids]), strict=True
        ):
            self._issuer_cache[issuer_id] = IssuerInfo.from_abi(decode(raw)[0])

    def issuer_count(self) -> int:
        return int(self.eth_call("issuerCount")[0])

    def key_record(self, key: str) -> KeyRecord:
        (raw,) = self.eth_call("keyRecord", to_checksum_address(key))
        return KeyRecord(int(raw[0]), int(raw[1]), int(raw[2]), bool(raw[3]))

    def accreditor(self, account: str) -> tuple[str, int]:
        """(name, kinds) of accreditor `account`: its display name (empty if never named) and the bit
        set of kinds it may accredit issuers for."""
        name, kinds = self.eth_call("accreditor", to_checksum_address(account))
        return str(name), int(kinds)

    def predecessor(self) -> str | None:
        """The registry this one succeeds (None for the first)."""
        (address,) = self.eth_call("predecessor")
        return None if int(address, 16) == 0 else to_checksum_address(address)

    def issuer_keys(self, issuer_id: int) -> list[str]:
        return list(self.eth_call("issuerKeys", issuer_id)[0])

    def revocation_event(
        self, key: str, root: bytes, index: int, from_block: int, step: int = 10_000
    ) -> RevocationEvent | None:
        """When and how document `index` of the batch (`key`, `root`) was revoked, from the registry's
        logs (None if the node no longer serves them). Logs are asked for `step` blocks at a time:
        public RPCs refuse unbounded ranges."""
        filters = {"root": root, "key": to_checksum_address(key)}
        head = int(self._call("eth_blockNumber", lambda: self.w3.eth.block_number))
        for low in range(from_block, head + 1, step):
            high = min(head, low + step - 1)
            single = self._call(
                "eth_getLogs",
                lambda low=low, high=high: self.contract.events.DocumentRevoked.get_logs(
                    argument_filters=filters, from_block=low, to_block=high
                ),
            )
            for log in single:
                if log["args"]["index"] == index:
                    return self._event(log, log["args"]["replacedBy"])
            many = self._call(
                "eth_getLogs",
                lambda low=low, high=high: self.contract.events.DocumentsRevoked.get_logs(
                    argument_filters=filters, from_block=low, to_block=high
                ),
            )
            for log in many:
                offset = log["args"]["offset"]
                rel = index - offset
                words = log["args"]["bitmap"]
                if 0 <= rel < 256 * len(words) and words[rel >> 8] >> (rel & 255) & 1:
                    return self._event(log, None)
        return None

    def _event(self, log: Any, replaced_by: bytes | None) -> RevocationEvent:
        block = self._call("eth_getBlockByNumber", lambda: self.w3.eth.get_block(log["blockNumber"]))
        return RevocationEvent(
            revoked_at=int(block["timestamp"]),
            block_number=int(log["blockNumber"]),
            transaction_hash="0x" + bytes(log["transactionHash"]).hex(),
            replaced_by=None if not replaced_by or replaced_by == b"\0" * 32 else bytes(replaced_by),
        )

    def block_hash(self, number: int) -> bytes | None:
        block = self._call("eth_getBlockByNumber", lambda: self.w3.eth.get_block(number))
        return bytes(block["hash"]) if block else None


def _status(raw: Any) -> DocumentStatus:
    revocation = int(raw[8])
    if not 0 <= revocation <= MAX_REASON_CODE:  # not a 4-bit code: not what a Sceau registry answers
        raise ChainError(f"the registry answered an impossible revocation code {revocation}")
    return DocumentStatus(
        anchored=raw[0],
        anchored_at=raw[1],
        key=raw[2],
        issuer_id=raw[3],
        document_count=raw[4],
        kind=raw[5],
        key_valid_at_anchoring=raw[6],
        issuer_active_at_anchoring=raw[7],
        revocation=revocation,
    )
