"""What every step of the worker shares: the database, the chain and registry, the settings, and
the issuers' keys (opened on first use, then kept in this process only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.contract import Contract

from certifier.chain.deployment import Deployment
from certifier.keys import keystore
from certifier.keys.credential_keys import CredentialKey
from certifier.keys.custody import Signer
from certifier.settings import Settings


class IssuerKeys:
    """The issuers' signing keys (see custody.py), their credential keys, and addresses, each
    looked up once."""

    def __init__(
        self, open_signer: Callable[[str], Signer], open_credential_key: Callable[[str], CredentialKey]
    ) -> None:
        self._open = open_signer
        self.credential_key = open_credential_key  # custody keeps it once opened
        #: Issuers whose credential key this process saw registered on chain (CREDENTIAL.md §4).
        self.registered: set[str] = set()
        self._signers: dict[str, Signer] = {}
        self._addresses: dict[str, str] = {}

    def signer(self, issuer: str) -> Signer:
        """The issuer's signing key; opened on first use, then kept."""
        if issuer not in self._signers:
            self._signers[issuer] = self._open(issuer)
        return self._signers[issuer]

    def address(self, issuer: str) -> str:
        """The issuer's key address, from its record: no secret needed to watch the chain. On
        chain a batch is named by (this key, root): one key per issuer here."""
        if issuer not in self._addresses:
            self._addresses[issuer] = keystore.load(issuer).address
        return self._addresses[issuer]


@dataclass
class WorkerContext:
    sessions: sessionmaker[Session]
    w3: Web3
    deployment: Deployment
    settings: Settings
    contract: Contract
    keys: IssuerKeys
    confirmations: int
    #: Issuers with confirmed documents still to seal or whose credentials to sign (a confirmation
    #: adds one, a scan refills it).
    unsealed: set[str] = field(default_factory=set)
    #: Issuers whose status lists to publish again (a confirmed revocation adds one, a scan refills it).
    republish: set[str] = field(default_factory=set)
