"""Key custody: encrypted keystores, per-issuer secrets, PKCS#11 (HSM) keys, credential keys."""

#: The environment variables that hold key secrets: only the anchoring worker gets them, never the
#: web processes that parse uploads. Here, not in custody.py, so that `sceau serve`'s supervisor
#: can strip them without loading the key libraries.
SECRET_ENV = ("SCEAU_KEY_PASSPHRASE", "SCEAU_PKCS11_PIN")
