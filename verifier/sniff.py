"""What a document is, from its first bytes: a PDF, a Verifiable Credential. Here, apart, so that
telling one needs neither pypdf nor the verifier's chain code (verifier/pdf.py and the issuer's
commands ask too)."""

from __future__ import annotations


def is_pdf(data: bytes) -> bool:
    """A PDF, by its header."""
    return data[:1024].lstrip().startswith(b"%PDF-")


def looks_like_credential(data: bytes) -> bool:
    """A JSON-LD Verifiable Credential (CREDENTIAL.md): an object with @context and a proof."""
    head = data[:4096].lstrip()
    return head.startswith(b"{") and b'"@context"' in data[:65536] and b'"proof"' in data
