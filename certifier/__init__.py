"""Sceau's issuer side: the local chain, deployment, issuer keys, issuing and revoking.

It builds on ``verifier`` (hashing, Merkle trees, receipts, chain reads) and adds only writes.
"""
