"""Read-only access to the registry on chain. The verifier's only window on the chain.

Every read the verifier makes of a chain goes through here (one cache keyed by block, single flight
and coalescing of concurrent misses, one decoding), so that what the verifier trusts of an endpoint
can be reviewed in one place; the transport is jsonrpc.py, the calldata abi.py.

Why one module of this size: the cache, the coalescing and the freshness of the head are one
argument about what a verdict rests on (which block, read when), reviewed together."""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from verifier.abi import encode_call, registry_functions
from verifier.artifacts import registry_abi
from verifier.core.errors import ChainError, ChainUnreachable, NotDeployed, WrongChain
from verifier.core.hashing import checksum_address, keccak256
from verifier.jsonrpc import JsonRpc

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract


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
MAX_CACHED_STATUSES = 200_000  # answers held for one block (a few hundred bytes each)


def _topic(signature: str) -> str:
    return "0x" + keccak256(signature.encode()).hex()


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
        self.registry = checksum_address(registry)
        self._w3: Web3 | None = None
        self._contract: Contract | None = None
        self.functions = registry_functions()
        self.transport = JsonRpc(rpc_url, timeout=timeout)
        self._lock = threading.Lock()
        self._chain_id: int | None = None
        self._issuer_cache: dict[int, IssuerInfo] = {}
        self._head: Head | None = None
        self._head_read_at = 0.0
        self._status_cache: dict[tuple[Any, ...], tuple[bool, DocumentStatus]] = {}
        # single flight and coalescing of cache misses (see `_read_coalesced`)
        self._head_lock = threading.Lock()
        self._flight = threading.Condition(self._lock)
        self._in_flight: dict[tuple[Any, ...], _Slot] = {}
        self._queued: list[_Slot] = []
        self._sending = False
        #: reads answered by another thread's request (single flight): a figure for logs and tests
        self.shared_reads = 0
        #: threads now waiting for a read another thread is making (of the head or of a document)
        self.waiting = 0

    @property
    def w3(self) -> Web3:
        """web3, made on first use: only the rarer reads (logs, code, old blocks) need it, and
        importing it costs most of a second at every start of `sceau-verify`."""
        if self._w3 is None:
            from web3 import Web3

            self._w3 = Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": self.timeout}))
        return self._w3

    @property
    def contract(self) -> Contract:
        if self._contract is None:
            self._contract = self.w3.eth.contract(address=self.registry, abi=registry_abi())
        return self._contract

    def rpc(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC request."""
        return self.transport.call(method, params)

    def rpc_batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Many JSON-RPC requests, results in the order of `calls`; the first failed call raises."""
        return self.transport.batch(calls)

    def rpc_batch_each(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """As `rpc_batch`, a failed call a ChainError in its place (jsonrpc.JsonRpc.batch_each)."""
        return self.transport.batch_each(calls)

    def close(self) -> None:
        self.transport.close()

    def call_request(self, name: str, *args: Any, block: str = "latest") -> tuple[str, list[Any]]:
        """The JSON-RPC method and params of a view call of the registry, for `rpc` or `rpc_batch`;
        `block` a tag or a hex block number."""
        return "eth_call", [{"to": self.registry, "data": encode_call(self.functions[name], args)}, block]

    def eth_call(self, name: str, *args: Any, block: str = "latest") -> tuple[Any, ...]:
        return self.decode_answer(name, self.rpc(*self.call_request(name, *args, block=block)))

    def decode_answer(self, name: str, data: Any) -> tuple[Any, ...]:
        """The decoded answer of view `name`; NotDeployed for an empty answer (no code there),
        ChainError for one that does not decode."""
        if not data or data == "0x":
            raise NotDeployed(f"no Sceau registry answers at {self.registry} on {self.rpc_url}")
        try:
            return self.functions[name].decode(data)
        except Exception as exc:  # eth-abi raises several decoding errors
            raise ChainError(f"the registry's answer to {name} cannot be decoded ({exc.__class__.__name__})") from None

    def _call(self, what: str, fn: Any) -> Any:
        from web3.exceptions import Web3Exception

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
        same block asks the chain nothing, and one arriving while the first is being read waits for
        that read instead of making its own)."""
        key = checksum_address(key)
        if head is None:
            proof_valid, raw = self.eth_call("checkDocument", key, root, index, leaf, proof)
            return bool(proof_valid), _status(raw)
        cache_key = (head.hash, key, root, index, leaf, tuple(proof))
        with self._lock:
            found = self._status_cache.get(cache_key)
        if found is not None:
            return found
        request = self.call_request("checkDocument", key, root, index, leaf, proof, block=hex(head.number))
        answer: tuple[bool, DocumentStatus] = self._read_coalesced(cache_key, request, self.decode_check)
        return answer

    def decode_check(self, data: Any) -> tuple[bool, DocumentStatus]:
        """The decoded answer of `checkDocument`: (proofValid, status)."""
        proof_valid, raw = self.decode_answer("checkDocument", data)
        return bool(proof_valid), _status(raw)

    def _read_coalesced(self, cache_key: tuple[Any, ...], request: tuple[str, list[Any]], decode: Any) -> Any:
        """The answer to `request`, kept in the block's cache under `cache_key`.

        Single flight: a miss for a key already being read waits for that read. Coalescing: misses
        that arrive while a request is out are queued, and when it returns one of their threads
        sends them all as one JSON-RPC batch (the others wait), so N concurrent misses cost at most
        two round trips and never N. Each sender sends only what was queued when it took over,
        so no thread keeps sending for the others indefinitely."""
        with self._flight:
            found = self._status_cache.get(cache_key)
            if found is not None:
                return found
            slot = self._in_flight.get(cache_key)
            if slot is None:
                slot = self._in_flight[cache_key] = _Slot(cache_key, request, decode)
                self._queued.append(slot)
            else:
                self.shared_reads += 1
            self.waiting += 1
            try:
                while not slot.done:
                    if not self._sending:
                        self._sending = True
                        batch, self._queued = self._queued, []
                        break
                    self._flight.wait()
                else:
                    return slot.outcome()
            finally:
                self.waiting -= 1
        self._send(batch)
        return slot.outcome()

    def _send(self, batch: list[_Slot]) -> None:
        """Read `batch` in one JSON-RPC batch, fill its slots (answers cached, failures kept as each
        slot's error), then let the next waiting thread send what queued meanwhile."""
        try:
            raws = self.rpc_batch_each([s.request for s in batch]) if len(batch) > 1 else [self._one(batch[0])]
            for slot, raw in zip(batch, raws, strict=True):
                try:
                    if isinstance(raw, ChainError):
                        raise raw
                    slot.answer = slot.decode(raw)
                except ChainError as exc:
                    slot.error = exc
        except ChainError as exc:
            for slot in batch:
                slot.error = exc
        finally:
            with self._flight:
                for slot in batch:
                    if slot.answer is None and slot.error is None:  # interrupted by something unforeseen
                        slot.error = ChainError(f"the read from {self.rpc_url} was interrupted")
                    slot.done = True
                    self._in_flight.pop(slot.key, None)
                    if slot.answer is not None and slot.key[0] == (self._head.hash if self._head else None):
                        if len(self._status_cache) >= MAX_CACHED_STATUSES:  # a long-held block: start afresh
                            self._status_cache = {}
                        self._status_cache[slot.key] = slot.answer  # never cache an answer of a block left behind
                self._sending = False
                self._flight.notify_all()

    def _one(self, slot: _Slot) -> Any:
        """A lone read as a plain request (a batch of one costs the node more to parse)."""
        try:
            return self.rpc(*slot.request)
        except ChainError as exc:
            return exc

    # ------------------------------------------------------------ the block a verdict rests on

    def head(self, freshness: float) -> Head:
        """The latest block, re-read when the one held is older than `freshness` seconds. On a new
        block, the answers cached for older blocks are dropped, and issuers named by the registry's
        events since the last block seen are read afresh (their records change only through events)."""
        arrived = time.monotonic()
        with self._lock:
            held, read_at = self._head, self._head_read_at
        if held is not None and arrived - read_at < freshness:
            return held
        with self._lock:
            self.waiting += 1
        try:
            self._head_lock.acquire()  # single flight: threads that find the head stale together read it once
        finally:
            with self._lock:
                self.waiting -= 1
        try:
            with self._lock:
                held, read_at = self._head, self._head_read_at
            # a read that started after this call arrived, or one still within `freshness`, will do
            if held is not None and (read_at >= arrived or time.monotonic() - read_at < freshness):
                return held
            return self._read_head(held)
        finally:
            self._head_lock.release()

    def _read_head(self, held: Head | None) -> Head:
        now = time.monotonic()
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
        return _status(self.eth_call("documentStatus", checksum_address(key), root, index)[0])

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

    def has_issuer(self, issuer_id: int) -> bool:
        """Whether the issuer's record is cached (bulk checks read only the others)."""
        return issuer_id in self._issuer_cache

    def _read_issuer(self, issuer_id: int) -> IssuerInfo:
        (raw,) = self.eth_call("issuer", issuer_id)
        return IssuerInfo.from_abi(raw)

    def prefetch_issuers(self, issuer_ids: list[int]) -> None:
        """Read many issuers in JSON-RPC batches into the cache (bulk checks)."""
        if not issuer_ids:
            return
        decode = self.functions["issuer"].decode
        for issuer_id, raw in zip(
            issuer_ids, self.rpc_batch([self.call_request("issuer", i) for i in issuer_ids]), strict=True
        ):
            self._issuer_cache[issuer_id] = IssuerInfo.from_abi(decode(raw)[0])

    def issuer_count(self) -> int:
        return int(self.eth_call("issuerCount")[0])

    def key_record(self, key: str) -> KeyRecord:
        (raw,) = self.eth_call("keyRecord", checksum_address(key))
        return KeyRecord(int(raw[0]), int(raw[1]), int(raw[2]), bool(raw[3]))

    def accreditor(self, account: str) -> tuple[str, int]:
        """(name, kinds) of accreditor `account`: its display name (empty if never named) and the bit
        set of kinds it may accredit issuers for."""
        name, kinds = self.eth_call("accreditor", checksum_address(account))
        return str(name), int(kinds)

    def predecessor(self) -> str | None:
        """The registry this one succeeds (None for the first)."""
        (address,) = self.eth_call("predecessor")
        return None if int(address, 16) == 0 else checksum_address(address)

    def issuer_keys(self, issuer_id: int) -> list[str]:
        return list(self.eth_call("issuerKeys", issuer_id)[0])

    def revocation_event(
        self, key: str, root: bytes, index: int, from_block: int, step: int = 10_000
    ) -> RevocationEvent | None:
        """When and how document `index` of the batch (`key`, `root`) was revoked, from the registry's
        logs (None if the node no longer serves them). Logs are asked for `step` blocks at a time:
        public RPCs refuse unbounded ranges."""
        filters = {"root": root, "key": checksum_address(key)}
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


class _Slot:
    """One read waiting in `ChainReader._read_coalesced`: filled by whichever thread sends it."""

    __slots__ = ("answer", "decode", "done", "error", "key", "request")

    def __init__(self, key: tuple[Any, ...], request: tuple[str, list[Any]], decode: Any) -> None:
        self.key, self.request, self.decode = key, request, decode
        self.answer: Any = None
        self.error: ChainError | None = None
        self.done = False

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.answer


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
