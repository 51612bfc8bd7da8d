"""Sceau's verifier: decides from a document, its receipt and the chain alone whether the document
is authentic, who issued it under whose accreditation, and whether it was revoked or has expired.

This package is the dependency root of Sceau: it never imports ``certifier``.
"""

__version__ = "0.1.0"
