"""The states the store records: a chain transaction's (a batch's anchor, a revocation) and a
document's, and the one table of the moves a transaction may make.

The values are the strings the database has always held, so typing the columns needed no
migration. Every transaction's move goes through the worker's compare-and-set
(certifier/worker/jobs.py), which refuses a move this table does not list."""

from __future__ import annotations

from enum import StrEnum


class TxStatus(StrEnum):
    """Where a batch's anchor or a revocation stands on its way to the chain."""

    built = "built"  # recorded, no transaction yet
    signed = "signed"  # hash, nonce, fees and signed bytes recorded, not yet broadcast
    sent = "sent"  # broadcast, waiting for a block
    mined = "mined"  # in a block, waiting for confirmations
    confirmed = "confirmed"  # enough confirmations, on the canonical chain
    failed = "failed"  # the chain can never take it: ``last_error`` says why


class DocumentStatus(StrEnum):
    """Where a document stands: what the API shows as its status."""

    pending = "pending"  # committed, in no batch yet
    anchoring = "anchoring"  # in a batch whose transaction is not mined
    anchored = "anchored"  # its batch is mined
    confirmed = "confirmed"  # its batch is confirmed: the receipt is final
    failed = "failed"  # the chain could never take it: ``failure`` says why


#: The moves a transaction may make, and only these. Replacing a transaction (a higher fee, the
#: same nonce) signs it again from ``signed`` or ``sent``; a nonce taken by something else sends it
#: back to ``built``; a vanished transaction goes back to ``signed`` (broadcast again), a
#: reorganised one back to ``sent``; a job found done on chain (logs) jumps to ``mined``.
TRANSITIONS: dict[TxStatus, frozenset[TxStatus]] = {
    TxStatus.built: frozenset({TxStatus.signed, TxStatus.mined, TxStatus.failed}),
    TxStatus.signed: frozenset({TxStatus.signed, TxStatus.built, TxStatus.sent, TxStatus.failed}),
    TxStatus.sent: frozenset({TxStatus.signed, TxStatus.mined, TxStatus.failed}),
    TxStatus.mined: frozenset({TxStatus.sent, TxStatus.confirmed}),
    TxStatus.confirmed: frozenset(),
    TxStatus.failed: frozenset(),
}

#: Not yet confirmed nor failed: the worker still has something to do.
IN_FLIGHT: tuple[TxStatus, ...] = tuple(s for s, moves in TRANSITIONS.items() if moves)
