"""W3C Verifiable Credentials (Open Badges 3.0) beside a certified document: Data Integrity proofs
(eddsa-rdfc-2022) over bundled JSON-LD contexts, did:key, Bitstring Status Lists (CREDENTIAL.md)."""
