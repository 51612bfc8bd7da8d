"""Bounds on the work one verification may cost, so that a small hostile input (a ZIP or a PDF
stream that inflates a thousandfold, a PNG declaring 144 million pixels) is refused fast instead of
costing gigabytes. The same bounds hold on the public endpoints and in the CLI.

The bounds in force are ambient, as pypdf's own `Configuration` is: a ContextVar that the web layer
sets for each request and the CLI for each command (`applied`), read where the work is done. Work
that adds up across several objects (decoded PDF streams) is counted against `budget`s: one per
file, and one per bulk request.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields
from typing import Any

from verifier.core.errors import ConfigurationError, LimitExceeded

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Each field is set by ``SCEAU_`` + its name upper-cased (``SCEAU_MAX_BULK_ITEMS``…)."""

    #: Documents in one bulk verification (receipts not counted).
    max_bulk_items: int = 1000
    #: Bytes of documents and receipts in one bulk verification, once unzipped: held in memory.
    max_bulk_expanded_bytes: int = 128 * MiB
    #: Decoded PDF stream bytes over a whole bulk verification: bounds its CPU time (~0.3 s a 100 MiB).
    max_bulk_decoded_bytes: int = 1024 * MiB
    #: Pixels of a seal picture, read from its header before anything is decoded (a 48 Mpx photo passes).
    max_image_pixels: int = 50_000_000
    #: Bytes one PDF stream may decode to (pypdf's per-filter caps are set to it).
    max_stream_bytes: int = 32 * MiB
    #: Decoded stream bytes for one PDF, comparing a certified PDF with its original.
    max_pdf_decoded_bytes: int = 128 * MiB

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Limits:
        values: dict[str, int] = {}
        for f in fields(cls):
            key = "SCEAU_" + f.name.upper()
            raw = mapping.get(key)
            if raw in (None, ""):
                continue
            try:
                value = int(raw)
            except (TypeError, ValueError):
                raise ConfigurationError(f"{key}={raw!r} is not a whole number") from None
            if value <= 0:
                raise ConfigurationError(f"{key}={raw!r} must be positive")
            values[f.name] = value
        return cls(**values)

    @classmethod
    def from_env(cls) -> Limits:
        return cls.from_mapping(os.environ)


_DEFAULT = Limits()
_CURRENT: ContextVar[Limits | None] = ContextVar("sceau_limits", default=None)


def current() -> Limits:
    return _CURRENT.get() or _DEFAULT


@contextmanager
def applied(limits: Limits) -> Iterator[Limits]:
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)


class Budget:
    """Bytes of work left under one bound."""

    def __init__(self, setting: str, limit: int, what: str) -> None:
        self.setting, self.limit, self.what, self.left = setting, limit, what, limit

    def spend(self, amount: int) -> None:
        self.left -= amount
        if self.left < 0:
            raise refuse(self.what, self.setting, self.limit)


_BUDGETS: ContextVar[tuple[Budget, ...]] = ContextVar("sceau_budgets", default=())


class SharedBudget(Budget):
    """A Budget that several processes spend together (the lanes of a bulk check): its bytes left
    in shared memory, under a lock, so that the bound is the whole run's however the work is
    shared out. Made before the processes start (fork or spawn carries it to them)."""

    def __init__(self, setting: str, limit: int, what: str, context: Any) -> None:
        super().__init__(setting, limit, what)
        self._shared = context.Value("q", limit)

    def spend(self, amount: int) -> None:
        with self._shared.get_lock():
            self._shared.value -= amount
            self.left = self._shared.value
        if self.left < 0:
            raise refuse(self.what, self.setting, self.limit)


@contextmanager
def budget(setting: str, limit: int, what: str, opened: Budget | None = None) -> Iterator[Budget]:
    """Count the work done inside against `limit` too (or against `opened`, one already made: a
    SharedBudget), on top of any budget already open."""
    opened = opened or Budget(setting, limit, what)
    token = _BUDGETS.set((*_BUDGETS.get(), opened))
    try:
        yield opened
    finally:
        _BUDGETS.reset(token)


def spend(amount: int) -> None:
    """Count `amount` bytes of work against every open budget; LimitExceeded when one runs out."""
    for opened in _BUDGETS.get():
        opened.spend(amount)


def refuse(what: str, setting: str, limit: int, unit: str = "bytes") -> LimitExceeded:
    return LimitExceeded(f"{what} exceeds {limit:,} {unit} ({setting})", setting=setting, limit=limit)
