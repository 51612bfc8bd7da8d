"""The worker's JSON-RPC habits on a real network: bounded log ranges, retries on 429, 5xx and
timeouts, and short request timeouts (a hung node must not hang the worker)."""

from __future__ import annotations

from typing import Any

import requests
from web3 import Web3
from web3.providers.rpc.utils import REQUEST_RETRY_ALLOWLIST, ExceptionRetryConfiguration

#: Blocks per eth_getLogs request: public RPCs refuse (or time out on) unbounded ranges; most
#: accept 10,000.
LOG_RANGE = 10_000

#: Retried after a timeout, 429 or 5xx too: re-sending the same signed bytes is harmless (the
#: node answers "already known"), and log queries only read.
RETRIED = [*REQUEST_RETRY_ALLOWLIST, "eth_getLogs", "eth_sendRawTransaction", "eth_maxPriorityFeePerGas"]


def worker_web3(url: str, *, timeout: float = 10, retries: int = 4) -> Web3:
    """A Web3 for the worker: each request retried `retries` times with exponential back-off
    (0.25 s, 0.5 s, 1 s…) on connection errors, timeouts, HTTP 429 and 5xx."""
    retry = ExceptionRetryConfiguration(
        errors=(requests.ConnectionError, requests.HTTPError, requests.Timeout),
        retries=retries,
        backoff_factor=0.25,
        method_allowlist=RETRIED,
    )
    provider = Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=retry)
    return Web3(provider)


def logs_newest_first(
    event: Any, filters: dict[str, Any], from_block: int, to_block: int, step: int = LOG_RANGE
) -> list[Any]:
    """The event's logs in [from_block, to_block], asked for `step` blocks at a time from the newest
    range back, stopping at the first range that has any (the worker wants the latest)."""
    high = to_block
    while high >= from_block:
        low = max(from_block, high - step + 1)
        logs = list(event.get_logs(argument_filters=filters, from_block=low, to_block=high))
        if logs:
            return logs
        high = low - 1
    return []
