"""Key custody: encrypted keystores, per-issuer secrets, PKCS#11 (HSM) keys, credential keys."""
