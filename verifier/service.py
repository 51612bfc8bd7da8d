"""Verification from files and bytes, through one `Verifier`: the entry point shared by the CLI,
the HTTP endpoint, the page, bulk checks and seals, so that every path rests on the same trust
anchors."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.chain import ChainReader
from verifier.core.anchors import TrustAnchor, TrustAnchors
from verifier.core.errors import ChainError, DocumentError, InvalidReceipt, SceauError, WrongChain
from verifier.core.hashing import sha256_bytes, sha256_file
from verifier.core.receipt import MAX_RECEIPT_BYTES, Receipt
from verifier.core.verdict import Check, Outcome, Verdict, error_from, error_verdict
from verifier.sniff import is_pdf, looks_like_credential
from verifier.verify import untrusted_registry, verify_document

if TYPE_CHECKING:  # eth-account, which signed trust lists need, takes most of a second to import
    from verifier.trustlist import TrustList

PIN_SECONDS = 30.0  # how long a proof that the endpoint serves the anchor's chain is reused


class Verifier:
    """What every verdict rests on: the trust anchors, the JSON-RPC endpoint, and optionally a
    signed trust list for offline seal checks. Readers exist only for trusted registries, one per
    anchor, each used only after the endpoint proved it serves the anchor's chain (chain id and
    genesis block hash)."""

    def __init__(
        self, anchors: TrustAnchors, rpc_url: str, *, trust_list: TrustList | None = None, freshness: float = 1.0
    ) -> None:
        self.anchors = anchors
        self.rpc_url = rpc_url
        self.trust_list = trust_list
        #: seconds a block may be held before the chain's head is read again: every verdict states the
        #: block it rests on, and no revocation is older than this (plus the chain's own block time)
        self.freshness = freshness
        self._lock = threading.Lock()
        self._readers: dict[TrustAnchor, ChainReader] = {}
        self._pinned: dict[TrustAnchor, float] = {}

    def reader(self, anchor: TrustAnchor) -> ChainReader:
        """The reader of a trusted registry. Raises WrongChain when the endpoint serves another
        chain (a verdict of "could not decide", never "not authentic"), ChainError when it fails."""
        if self.anchors.find(anchor.chain_id, anchor.registry) is None:  # pragma: no cover - callers check first
            raise SceauError(f"registry {anchor.registry} is not a trust anchor")
        with self._lock:
            reader = self._readers.get(anchor)
            if reader is None:
                reader = self._readers[anchor] = ChainReader(self.rpc_url, anchor.registry)
            pinned = time.monotonic() - self._pinned.get(anchor, -PIN_SECONDS) < PIN_SECONDS
        if not pinned:
            self._pin(anchor, reader)
        return reader

    def unpin(self, anchor: TrustAnchor) -> None:
        """After a failure: the endpoint must prove its chain again before the next verdict."""
        with self._lock:
            self._pinned.pop(anchor, None)

    def _pin(self, anchor: TrustAnchor, reader: ChainReader) -> None:
        chain_id, genesis = reader.rpc_batch([("eth_chainId", []), ("eth_getBlockByNumber", ["0x0", False])])
        try:
            served = int(chain_id, 16)
        except (TypeError, ValueError):
            raise ChainError(f"the endpoint {self.rpc_url} did not answer eth_chainId") from None
        if served != anchor.chain_id:
            raise WrongChain(
                f"the endpoint {self.rpc_url} serves chain {served}, but the trust anchor "
                f"({anchor.name}) is on chain {anchor.chain_id}: no verdict is possible from it"
            )
        expected = "0x" + anchor.genesis_hash.hex()
        found = genesis.get("hash") if isinstance(genesis, dict) else None
        if found != expected:
            raise WrongChain(
                f"the endpoint {self.rpc_url} serves a chain {served} whose genesis block is {found}, not the "
                f"trust anchor's {expected}: it is another chain (or a dev chain started afresh), so no verdict "
                "is possible from it"
            )
        with self._lock:
            self._pinned[anchor] = time.monotonic()

    def close(self) -> None:
        with self._lock:
            readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            reader.close()

    # ------------------------------------------------------------ entry points

    def verify_digest(self, digest: bytes, load_receipt: Callable[[], Receipt]) -> Verdict:
        """The verdict on the document of SHA-256 `digest`; a receipt that does not parse is an error verdict."""
        try:
            receipt = load_receipt()
        except InvalidReceipt as exc:
            return error_from(exc, digest.hex())
        return verify_document(digest, receipt, self)

    def verify_bytes(self, data: bytes, receipt_data: bytes | None) -> Verdict:
        try:
            digest = sha256_bytes(data)
        except DocumentError as exc:
            return error_from(exc)
        if receipt_data is None:
            certified = self.verify_certified_pdf(data)
            if certified is not None:
                return certified
            if looks_like_credential(data):  # a Verifiable Credential carries its own receipt
                from verifier.credentials.verify import verify_credential

                return verify_credential(data, self)
            return error_verdict(
                "no receipt given, and the document is not a certified PDF", digest.hex(), code="error.no_receipt"
            )
        return self.verify_digest(digest, lambda: Receipt.from_json(receipt_data))

    def verify_path(self, path: Path, receipt_path: Path | None) -> Verdict:
        """Verify a document on disk; its receipt defaults to ``FILE.receipt.json`` beside it.

        Raises DocumentError for a document that cannot be read; every other failure is a verdict."""
        digest = sha256_file(path)
        beside = path.with_name(path.name + ".receipt.json")
        if receipt_path is None and not beside.exists() and path.stat().st_size <= MAX_PDF_BYTES:
            with path.open("rb") as f:
                head = f.read(1024)
            if is_pdf(head):
                certified = self.verify_certified_pdf(path.read_bytes())
                if certified is not None:
                    return certified
        if receipt_path is None and not beside.exists() and path.stat().st_size <= MAX_CREDENTIAL_BYTES:
            data = path.read_bytes()
            if looks_like_credential(data):
                from verifier.credentials.verify import verify_credential

                return verify_credential(data, self)
        receipt_path = receipt_path or beside
        try:
            receipt = read_receipt_file(receipt_path)
        except SceauError as exc:
            return error_from(exc, digest.hex())
        return verify_document(digest, receipt, self)

    def verify_certified_pdf(self, data: bytes) -> Verdict | None:
        """The verdict on a certified PDF (its embedded receipt, its original prefix, and what its
        update adds), or None when `data` is not a certified PDF."""
        from verifier.pdf import open_certified  # pypdf: loaded for PDFs only (70 ms at every start)

        try:
            certified = open_certified(data)
        except InvalidReceipt as exc:
            return error_verdict(
                f"the PDF's embedded receipt is malformed: {exc}",
                sha256_bytes(data).hex(),
                code="error.malformed_receipt",
            )
        if certified is None:
            return None
        receipt = certified.receipt
        if self.anchors.find(receipt.chain_id, receipt.registry) is None:
            return untrusted_registry(receipt.chain_id, receipt.registry, self, sha256_bytes(data).hex(), "PDF")
        if certified.original is None:
            check = Check("integrity", False, "certified_pdf.no_original")
            return Verdict(Outcome.TAMPERED, (check,), hashlib.sha256(data).hexdigest())
        verdict = verify_document(sha256_bytes(certified.original), receipt, self)
        problems = certified.problems
        if certified.seal_text is not None:
            fields, seal_problem = _stamped_fields(certified.seal_text, receipt)
            if seal_problem:
                problems = (*problems, seal_problem)
            elif fields:
                verdict = replace(verdict, document={**verdict.document, "fields": fields})
        check = (
            Check("certified_pdf", False, "certified_pdf.altered", {"problems": list(problems)})
            if problems
            else Check("certified_pdf", True, "certified_pdf.ok")
        )
        outcome = Outcome.TAMPERED if problems and verdict.outcome is not Outcome.ERROR else verdict.outcome
        return replace(verdict, outcome=outcome, checks=(check, *verdict.checks))


def read_receipt_file(path: Path) -> Receipt:
    if not path.exists():
        raise InvalidReceipt(f"{path}: no such receipt (pass --receipt, or keep FILE.receipt.json beside the file)")
    if path.is_dir():
        raise InvalidReceipt(f"{path}: is a directory, not a receipt")
    with path.open("rb") as f:
        data = f.read(MAX_RECEIPT_BYTES + 1)
    try:
        return Receipt.from_json(data)
    except InvalidReceipt as exc:
        raise type(exc)(f"{path}: {exc}") from None


MAX_PDF_BYTES = 256 * 1024 * 1024
MAX_CREDENTIAL_BYTES = 1024 * 1024


def _stamped_fields(seal_text: str, receipt: Receipt) -> tuple[dict[str, str], str | None]:
    """The displayed fields the stamped seal shows, or the reason it does not belong to the
    certified copy's receipt (a seal lifted from another diploma)."""
    from verifier.core.errors import InvalidSeal
    from verifier.core.fields import fields_sha256
    from verifier.core.seal import Seal

    try:
        seal = Seal.decode(seal_text)
        signer = seal.signer()
    except InvalidSeal as exc:
        return {}, f"the stamped seal cannot be read: {exc}"
    same = (
        seal.chain_id == receipt.chain_id
        and seal.registry.lower() == receipt.registry.lower()
        and seal.root == receipt.anchor.root
        and seal.document == receipt.document
        and signer.lower() == receipt.anchor.issuer_key.lower()
    )
    if not same:
        return {}, "the stamped seal belongs to another document than the attached receipt"
    if seal.fields and fields_sha256(seal.fields) != receipt.document.fields_sha256:
        return {}, "the stamped seal shows other fields than the ones anchored"
    return seal.fields, None
