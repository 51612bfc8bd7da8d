"""Errors of Verifiable Credentials (CREDENTIAL.md), under the one error tree of verifier.core.errors."""

from __future__ import annotations

from verifier.core.errors import InvalidReceipt


class InvalidCredential(InvalidReceipt):
    """A credential that cannot be read as Sceau's credential profile (CREDENTIAL.md): malformed JSON,
    a missing member, a proof of another kind. It is the credential's receipt, so it is an
    InvalidReceipt: a verdict of "could not decide", never "valid"."""


class UnknownContext(InvalidCredential):
    """A JSON-LD context that is not bundled with Sceau: nothing is ever fetched from the network."""


class InvalidDidKey(InvalidCredential):
    """A did:key that is not an Ed25519 key in base58btc multibase (CREDENTIAL.md §4)."""
