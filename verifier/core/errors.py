"""The one error tree of Sceau. Every message is meant to be read by a person and acted upon."""

from __future__ import annotations


class SceauError(Exception):
    """Root of every error Sceau raises on purpose."""


# ---------------------------------------------------------------- documents


class DocumentError(SceauError):
    """The document given to sign or verify cannot be used."""


class InvalidFields(DocumentError):
    """Displayed fields (holder, degree, number…) that cannot be sealed as given; `code` and
    `params` name the problem for whoever says it in another language (the issuer console)."""

    def __init__(self, message: str, code: str = "fields_refused", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class LimitExceeded(DocumentError):
    """An input would cost more work than a bound allows (verifier/limits.py): `setting` names the
    bound, `limit` its value, so the message says what to split, shrink or raise."""

    def __init__(self, message: str, *, setting: str, limit: int) -> None:
        super().__init__(message)
        self.setting = setting
        self.limit = limit


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


class InvalidSeal(InvalidReceipt):
    """A seal (QR code) that cannot be decoded, or whose signature does not hold."""


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


# ---------------------------------------------------------------- trust


class TrustError(SceauError):
    """The verifier's trust anchors or trust list are missing, malformed or not to be relied on."""


class NoTrustAnchors(TrustError):
    """The verifier was given nothing to trust, so it cannot give a verdict."""


class InvalidTrustList(TrustError):
    """A trust list that is unsigned, altered, signed by another key, or not well formed."""


class StaleTrustList(TrustError):
    """A trust list past its next-update date, or older than the one already held."""


# ---------------------------------------------------------------- configuration and usage


class ConfigurationError(SceauError):
    """A setting, a keystore or a local file is missing or wrong."""
