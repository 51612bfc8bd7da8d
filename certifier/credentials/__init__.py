"""Issuing Verifiable Credentials with their documents, and the status lists rebuilt from the chain."""
