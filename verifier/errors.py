"""The one error tree of Sceau. Every message is meant to be read by a person and acted upon."""

from __future__ import annotations


class SceauError(Exception):
    """Root of every error Sceau raises on purpose."""


# ---------------------------------------------------------------- documents


class DocumentError(SceauError):
    """The document given to sign or verify cannot be used."""


# ---------------------------------------------------------------- receipts


class InvalidReceipt(SceauError):
    """A receipt cannot be parsed or breaks the receipt specification (RECEIPT.md)."""


class UnsupportedReceiptVersion(InvalidReceipt):
    """The receipt's major version is not one this verifier knows."""


class TruncatedReceipt(InvalidReceipt):
    """The receipt's JSON ends before the document is complete."""


class TrailingGarbage(InvalidReceipt):
    """Bytes follow the receipt's JSON document."""


class ReceiptTypeError(InvalidReceipt):
    """A field of the receipt is missing, unknown, or of the wrong type or form."""


class ReceiptTooLarge(InvalidReceipt):
    """The receipt exceeds the size limits of the specification."""


# ---------------------------------------------------------------- chain


class ChainError(SceauError):
    """The chain cannot be reached or does not answer as expected."""


class ChainUnreachable(ChainError):
    """No answer from the JSON-RPC endpoint."""


class WrongChain(ChainError):
    """The endpoint serves another chain than the one the receipt or deployment names."""


class NotDeployed(ChainError):
    """No Sceau registry is deployed where it is expected."""


class TransactionFailed(ChainError):
    """A transaction was rejected or reverted; the message names the contract's error."""


# ---------------------------------------------------------------- configuration and usage


class ConfigurationError(SceauError):
    """A setting, a keystore or a local file is missing or wrong."""
