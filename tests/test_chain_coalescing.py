"""Chain reads under concurrency, counted on the wire: a JSON-RPC proxy between the verifier and the
session's real anvil node records every request and can hold one back, so that the test knows,
without timing, that other threads arrived while a read was out.

- single flight: threads missing the same (block, document) share one read;
- coalescing: misses for different documents arriving while a read is out go as one batch;
- the head: threads finding it stale together read it once;
- the calldata written by hand for the registry's views is byte for byte eth-abi's."""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from eth_abi.exceptions import EncodingError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import Chain, wait_until, write_docs
from verifier.abi import encode_call, registry_functions
from verifier.chain import ChainReader
from verifier.core.receipt import Receipt


class CountingProxy:
    """A JSON-RPC proxy to `upstream` that records each HTTP request's methods (a batch is one
    request of many methods). While `hold` is set, the next request whose methods include
    `hold_method` waits until `release()`."""

    def __init__(self, upstream: str) -> None:
        self.requests: list[list[str]] = []
        #: the 4-byte selector of every eth_call, in order (which view of the registry was asked)
        self.selectors: list[str] = []
        self.hold_method: str | None = None
        #: methods the proxy answers with a JSON-RPC error instead of forwarding (a failing node)
        self.failing: set[str] = set()
        self.held = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        parts = urlsplit(upstream)
        target = (parts.hostname or "127.0.0.1", parts.port or 80)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                parsed = json.loads(body)
                methods = [c["method"] for c in parsed] if isinstance(parsed, list) else [parsed["method"]]
                calls = parsed if isinstance(parsed, list) else [parsed]
                with proxy._lock:
                    proxy.requests.append(methods)
                    proxy.selectors += [c["params"][0]["data"][:10] for c in calls if c["method"] == "eth_call"]
                    hold = proxy.hold_method in methods and not proxy.held.is_set()
                    if hold:
                        proxy.held.set()
                if hold:
                    proxy._release.wait(30)
                if proxy.failing & set(methods):
                    answer = json.dumps(proxy.errors(parsed)).encode()
                else:
                    conn = http.client.HTTPConnection(*target, timeout=30)
                    try:
                        conn.request("POST", "/", body, {"Content-Type": "application/json"})
                        answer = conn.getresponse().read()
                    finally:
                        conn.close()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @staticmethod
    def errors(parsed: Any) -> Any:
        """What a node answers when it fails every call of a request."""
        calls = parsed if isinstance(parsed, list) else [parsed]
        answers = [
            {"jsonrpc": "2.0", "id": c["id"], "error": {"code": -32000, "message": "node failure"}} for c in calls
        ]
        return answers if isinstance(parsed, list) else answers[0]

    def hold(self, method: str) -> None:
        self.hold_method = method
        self.held.clear()
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def calls(self, method: str) -> list[list[str]]:
        """The requests that carried `method`, each as its list of methods."""
        with self._lock:
            return [r for r in self.requests if method in r]

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(chain: Chain) -> Iterator[CountingProxy]:
    made = CountingProxy(chain.url)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def receipts(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> list[Receipt]:
    """Eight documents of one batch, issued with the CLI on the session's node."""
    from tests.conftest import run_sceau

    folder = tmp_path_factory.mktemp("coalescing")
    docs = write_docs(folder, 8)
    created = run_sceau("issuer", "create", "Coalescing University", "--kind", "diploma", "--id", "COAL-8")
    assert created.returncode == 0, created.stderr
    issued = run_sceau("issue", "--issuer", "Coalescing University", *docs)
    assert issued.returncode == 0, issued.stderr
    return [Receipt.from_json(Path(f"{d}.receipt.json").read_bytes()) for d in docs]


def _check(reader: ChainReader, receipt: Receipt, head: Any) -> Any:
    return reader.check_document(
        receipt.anchor.issuer_key,
        receipt.anchor.root,
        receipt.document.index,
        receipt.leaf,
        list(receipt.proof),
        head=head,
    )


def _together(proxy: CountingProxy, reader: ChainReader, method: str, jobs: list[Any], waiting: int) -> list[Any]:
    """Run `jobs` on threads while the first request carrying `method` is held, until `waiting`
    threads wait inside the reader; then let it go. Their answers, in order."""
    proxy.hold(method)
    with ThreadPoolExecutor(len(jobs)) as pool:
        first = pool.submit(jobs[0])
        wait_until(proxy.held.is_set, 30, f"the first {method} to reach the node")
        rest = [pool.submit(job) for job in jobs[1:]]
        wait_until(lambda: reader.waiting >= waiting, 30, f"{waiting} threads waiting on the read out")
        proxy.release()
        return [first.result(30)] + [f.result(30) for f in rest]


def test_threads_missing_the_same_document_share_one_read(
    chain: Chain, proxy: CountingProxy, receipts: list[Receipt]
) -> None:
    reader = ChainReader(proxy.url, chain.deployment.registry)
    head = reader.head(0.0)
    receipt = receipts[3]
    answers = _together(proxy, reader, "eth_call", [lambda: _check(reader, receipt, head)] * 8, waiting=7)
    assert proxy.calls("eth_call") == [["eth_call"]]  # one read on the wire for eight verifications
    assert reader.shared_reads == 7
    proof_valid, status = answers[0]
    assert proof_valid and status.anchored and status.revocation == 0
    assert all(a == answers[0] for a in answers)
    assert _check(reader, receipt, head) == answers[0] and len(proxy.calls("eth_call")) == 1  # now cached
    reader.close()


def test_misses_arriving_while_a_read_is_out_go_as_one_batch(
    chain: Chain, proxy: CountingProxy, receipts: list[Receipt]
) -> None:
    reader = ChainReader(proxy.url, chain.deployment.registry)
    head = reader.head(0.0)
    jobs = [lambda r=r: _check(reader, r, head) for r in receipts]
    answers = _together(proxy, reader, "eth_call", jobs, waiting=7)
    # the first read alone, then the seven that queued behind it in one JSON-RPC batch
    assert proxy.calls("eth_call") == [["eth_call"], ["eth_call"] * 7]
    assert reader.shared_reads == 0
    assert [status.revocation for _, status in answers] == [0] * 8
    assert all(ok and status.anchored for ok, status in answers)
    # each got its own document's answer: the same as a lone read at that block
    lone = ChainReader(chain.url, chain.deployment.registry)
    assert answers == [_check(lone, r, head) for r in receipts]
    lone.close()
    reader.close()


def test_threads_finding_the_head_stale_read_it_once(chain: Chain, proxy: CountingProxy) -> None:
    reader = ChainReader(proxy.url, chain.deployment.registry)
    heads = _together(proxy, reader, "eth_getBlockByNumber", [lambda: reader.head(1.0)] * 6, waiting=5)
    assert len(proxy.calls("eth_getBlockByNumber")) == 1
    assert len({h.hash for h in heads}) == 1 and heads[0].number == chain.w3.eth.block_number
    reader.close()


def test_a_failed_read_fails_every_thread_waiting_on_it_and_is_not_cached(
    chain: Chain, proxy: CountingProxy, receipts: list[Receipt]
) -> None:
    """A node failing mid-read: each waiting verification gets the chain's error (a verdict of
    "could not decide"), none hangs, and nothing stays cached: the next read asks again."""
    from verifier.core.errors import ChainError

    reader = ChainReader(proxy.url, chain.deployment.registry)
    head = reader.head(0.0)
    proxy.failing = {"eth_call"}
    jobs = [lambda r=r: _failure(reader, r, head) for r in receipts[:4]] + [lambda: _failure(reader, receipts[0], head)]
    errors = _together(proxy, reader, "eth_call", jobs, waiting=4)
    assert all(isinstance(e, ChainError) and "node failure" in str(e) for e in errors), errors
    assert proxy.calls("eth_call") == [["eth_call"], ["eth_call"] * 3]  # the same document's miss shared the first
    proxy.failing = set()
    ok, status = _check(reader, receipts[0], head)
    assert ok and status.anchored
    assert len(proxy.calls("eth_call")) == 3  # asked again, not served a cached failure
    reader.close()


def _failure(reader: ChainReader, receipt: Receipt, head: Any) -> Exception:
    from verifier.core.errors import ChainError

    with pytest.raises(ChainError) as caught:
        _check(reader, receipt, head)
    return caught.value


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=20, max_size=20),
    root=st.binary(min_size=32, max_size=32),
    index=st.integers(0, 2**256 - 1),
    leaf=st.binary(min_size=32, max_size=32),
    proof=st.lists(st.binary(min_size=32, max_size=32), max_size=20),
    issuer=st.integers(0, 2**32 - 1),
)
def test_calldata_written_by_hand_is_eth_abis(
    key: bytes, root: bytes, index: int, leaf: bytes, proof: list[bytes], issuer: int
) -> None:
    from verifier.core.hashing import checksum_address

    fns = registry_functions()
    address = checksum_address("0x" + key.hex())
    for name, args in (
        ("checkDocument", (address, root, index, leaf, proof)),
        ("documentStatus", (address, root, index)),
        ("revocationOf", (address, root, index)),
        ("issuer", (issuer,)),
    ):
        assert encode_call(fns[name], args) == fns[name].encode(*args), name


def test_calldata_it_cannot_write_is_left_to_eth_abi() -> None:
    """Values outside the hand-written words go to eth-abi, which refuses what does not fit."""
    fns = registry_functions()
    short = ("0x" + "11" * 20, os.urandom(31), 1)  # eth-abi pads a short bytes32: so must it
    assert encode_call(fns["documentStatus"], short) == fns["documentStatus"].encode(*short)
    with pytest.raises(EncodingError):
        encode_call(fns["issuer"], (-1,))
    with pytest.raises(EncodingError):
        encode_call(fns["issuer"], (2**32,))
