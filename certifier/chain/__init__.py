"""The write side on chain: deployment, the local anvil node, transactions and RPC, issuers, Merkle
batches, anchoring, revoking, certified PDFs."""
