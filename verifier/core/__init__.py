"""The frozen, consensus-critical core: hashing, Merkle proofs, the receipt, seal and displayed-field
grammars, trust anchors, verdict types and their words. Pure: no network, no files but the document
being hashed, no web framework (tests/test_layering.py pins it). A change that an old verifier could
misread is a new major version of RECEIPT.md, never an edit here."""
