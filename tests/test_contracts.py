"""The registry's behaviour on a real node: roles, accreditation at anchoring time, key rotation
and compromise, suspension, anchoring, revocation, and every custom error."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from typing import Any, NamedTuple

import pytest
from web3.logs import DISCARD

from tests.chainhelpers import Actor, actor, advance, latest_time, random_root, root_actor
from verifier.chain import ChainReader, Reason
from verifier.core.kinds import kinds_mask

DIPLOMA = 1
PERMIT = 2
ALL_KINDS = 0xFFFFFFFE
ZERO = "0x" + "00" * 20
_identifiers = itertools.count(1)


class Registry:
    def __init__(self, chain: Any) -> None:
        self.chain = chain
        self.w3 = chain.w3
        self.c = chain.registry
        self.f = self.c.functions
        self.root = root_actor(self.w3, self.c)
        self.reader = ChainReader(chain.url, chain.deployment.registry)

    def accreditor(self, name: str = "Rectorat de Lyon", kinds: int = ALL_KINDS) -> Actor:
        a = actor(self.w3, self.c)
        self.root.send(self.f.nameAccreditor(a.address, name, kinds))
        return a

    def issuer(self, accreditor: Actor, kinds: int = 1 << DIPLOMA) -> tuple[int, Actor]:
        sent = accreditor.send(self.f.accreditIssuer("Université Test", identifier(), kinds))
        issuer_id = self.c.events.IssuerAccredited().process_receipt(sent.receipt)[0]["args"]["issuerId"]
        key = actor(self.w3, self.c)
        accreditor.send(self.f.addKey(issuer_id, key.address, 0, 0))
        return issuer_id, key

    def anchor(self, key: Actor, count: int = 4, kind: int = DIPLOMA) -> bytes:
        root = random_root()
        key.send(self.f.anchor(root, count, kind))
        return root

    def status(self, key: Actor, root: bytes, index: int = 0) -> Any:
        return self.reader.document_status(key.address, root, index)

    def breach(self) -> Breach:
        """An issuer whose key anchors honestly, then is stolen (`since`, 100 s later) and anchors a
        forgery 100 s after that, before anyone notices."""
        acc = self.accreditor()
        issuer_id, key = self.issuer(acc)
        honest = self.anchor(key)
        since = advance(self.w3, 100)
        advance(self.w3, 100)
        return Breach(acc, issuer_id, key, honest, since, self.anchor(key))


class Breach(NamedTuple):
    accreditor: Actor
    issuer_id: int
    key: Actor
    honest: bytes
    since: int
    forged: bytes


def identifier() -> str:
    """A fresh official identifier: they are unique in a registry (the chain is shared by the session)."""
    return f"0691774D-{next(_identifiers)}"


@pytest.fixture
def reg(chain: Any) -> Registry:
    return Registry(chain)


def test_root_names_accreditors_who_accredit_issuers_whose_keys_anchor(reg: Registry) -> None:
    acc = reg.accreditor("Rectorat de Lyon")
    issuer_id, key = reg.issuer(acc, kinds_mask(["diploma", "transcript"]))
    root = reg.anchor(key, count=3)
    status = reg.status(key, root, 2)
    assert status.anchored and status.issuer_id == issuer_id and status.document_count == 3
    assert status.key == key.address and status.kind == DIPLOMA
    assert status.key_valid_at_anchoring and status.issuer_active_at_anchoring
    assert status.revocation == Reason.NONE
    info = reg.reader.issuer(issuer_id)
    assert (info.name, info.accreditor_name) == ("Université Test", "Rectorat de Lyon")
    assert reg.f.issuerByIdentifier(info.identifier).call() == issuer_id


def test_only_the_root_names_accreditors_and_only_accreditors_accredit(reg: Registry) -> None:
    stranger = actor(reg.w3, reg.c)
    assert reg.root.reverts(reg.f.nameAccreditor(stranger.address, "", 2)) == "RegistryEmptyText()"
    assert reg.root.reverts(reg.f.nameAccreditor(stranger.address, "Me", 0)) == "RegistryInvalidKinds(kinds=0)"
    assert reg.root.reverts(reg.f.nameAccreditor(stranger.address, "Me", 1)) == "RegistryInvalidKinds(kinds=1)"
    assert stranger.reverts(reg.f.nameAccreditor(stranger.address, "Me", 2)).startswith(
        "AccessControlUnauthorizedAccount"
    )
    assert stranger.reverts(reg.f.accreditIssuer("X", "Y", 2)).startswith(
        f"AccessControlUnauthorizedAccount(account={stranger.address}"
    )
    assert reg.root.reverts(reg.f.nameAccreditor(ZERO, "Zero", 2)) == "RegistryZeroAddress()"


def test_accreditors_are_accredited_for_kinds_and_accredit_within_them(reg: Registry) -> None:
    # the root authority is an accreditor for every kind from the start
    assert reg.f.accreditor(reg.root.address).call() == ["Local development root authority", ALL_KINDS]
    interior = reg.accreditor("Ministère de l'Intérieur", 1 << PERMIT)
    sent = reg.root.send(reg.f.nameAccreditor(interior.address, "Ministère de l'Intérieur", 1 << PERMIT))
    [named] = reg.c.events.AccreditorNamed().process_receipt(sent.receipt, errors=DISCARD)
    assert dict(named["args"]) == {"account": interior.address, "name": "Ministère de l'Intérieur", "kinds": 4}
    assert reg.f.accreditor(interior.address).call() == ["Ministère de l'Intérieur", 1 << PERMIT]
    # the interior ministry cannot accredit a university for diplomas, nor widen a prefecture's kinds
    assert interior.reverts(reg.f.accreditIssuer("Université", identifier(), 1 << DIPLOMA)) == (
        f"RegistryKindsNotAccredited(accreditor={interior.address}, kinds={1 << DIPLOMA})"
    )
    both = kinds_mask(["diploma", "residence_permit"])
    assert interior.reverts(reg.f.accreditIssuer("Préfecture", identifier(), both)) == (
        f"RegistryKindsNotAccredited(accreditor={interior.address}, kinds={both})"
    )
    prefecture, _ = reg.issuer(interior, 1 << PERMIT)
    assert interior.reverts(reg.f.setIssuerKinds(prefecture, both)) == (
        f"RegistryKindsNotAccredited(accreditor={interior.address}, kinds={both})"
    )
    # the root authority may grant any kind to any issuer
    reg.root.send(reg.f.setIssuerKinds(prefecture, both))
    assert reg.reader.issuer(prefecture).kinds == both
    # naming an accreditor again replaces its kinds
    reg.root.send(reg.f.nameAccreditor(interior.address, "Ministère de l'Intérieur", both))
    reg.issuer(interior, 1 << DIPLOMA)


def test_issuer_identifiers_are_unique_in_a_registry(reg: Registry) -> None:
    acc, other = reg.accreditor(), reg.accreditor("Another rectorate")
    uai = identifier()
    assert reg.f.issuerByIdentifier(uai).call() == 0
    sent = acc.send(reg.f.accreditIssuer("Université Lumière", uai, 1 << DIPLOMA))
    issuer_id = reg.c.events.IssuerAccredited().process_receipt(sent.receipt)[0]["args"]["issuerId"]
    assert reg.f.issuerByIdentifier(uai).call() == issuer_id
    for who in (acc, other, reg.root):
        assert who.reverts(reg.f.accreditIssuer("Université Lumière bis", uai, 1 << DIPLOMA)) == (
            f"RegistryIdentifierTaken(identifier={uai}, issuerId={issuer_id})"
        )


def test_accreditation_input_is_checked(reg: Registry) -> None:
    acc = reg.accreditor()
    assert acc.reverts(reg.f.accreditIssuer("", "ID", 2)) == "RegistryEmptyText()"
    assert acc.reverts(reg.f.accreditIssuer("Name", "", 2)) == "RegistryEmptyText()"
    assert acc.reverts(reg.f.accreditIssuer("Name", "ID", 0)) == "RegistryInvalidKinds(kinds=0)"
    assert acc.reverts(reg.f.accreditIssuer("Name", "ID", 3)) == "RegistryInvalidKinds(kinds=3)"


def test_only_the_issuers_accreditor_or_the_root_manages_it(reg: Registry) -> None:
    acc, other = reg.accreditor(), reg.accreditor("Another rectorate")
    issuer_id, _ = reg.issuer(acc)
    new_key = actor(reg.w3, reg.c, fund=False)
    assert other.reverts(reg.f.addKey(issuer_id, new_key.address, 0, 0)) == (
        f"RegistryNotIssuerManager(account={other.address}, issuerId={issuer_id})"
    )
    assert acc.reverts(reg.f.addKey(999_999, new_key.address, 0, 0)) == "RegistryUnknownIssuer(issuerId=999999)"
    reg.root.send(reg.f.addKey(issuer_id, new_key.address, 0, 0))  # the root may always act
    # an accreditor whose role is revoked no longer manages its issuers
    reg.root.send(reg.f.revokeRole(reg.f.ACCREDITOR_ROLE().call(), acc.address))
    assert acc.reverts(reg.f.setIssuerKinds(issuer_id, 4)).startswith("RegistryNotIssuerManager")


def test_the_root_role_moves_only_in_two_steps_after_the_delay(reg: Registry) -> None:
    from certifier.chain.deployment import deploy

    # a registry of its own (the session's registry keeps its root), with a delay kept short because
    # the chain's clock is shared by the session
    delay = 60
    home = reg.chain.home / "admin-rules"
    home.mkdir(exist_ok=True)
    deployment, created = deploy(reg.w3, home, "Ministère", admin_delay=delay)
    assert created
    c = reg.w3.eth.contract(address=deployment.registry, abi=reg.c.abi)
    f = c.functions
    root, successor = root_actor(reg.w3, c), actor(reg.w3, c)
    admin_role = f.DEFAULT_ADMIN_ROLE().call()
    assert f.defaultAdmin().call() == root.address and f.defaultAdminDelay().call() == delay
    # no shortcut: the root role is never granted directly
    assert root.reverts(f.grantRole(admin_role, successor.address)) == "AccessControlEnforcedDefaultAdminRules()"
    root.send(f.beginDefaultAdminTransfer(successor.address))
    pending, schedule = f.pendingDefaultAdmin().call()
    assert pending == successor.address and schedule >= latest_time(reg.w3) + delay - 5
    assert successor.reverts(f.acceptDefaultAdminTransfer()) == (
        f"AccessControlEnforcedDefaultAdminDelay(schedule={schedule})"
    )
    assert root.reverts(f.acceptDefaultAdminTransfer()).startswith("AccessControlInvalidDefaultAdmin")
    advance(reg.w3, delay + 1)
    successor.send(f.acceptDefaultAdminTransfer())
    assert f.defaultAdmin().call() == successor.address
    assert not f.hasRole(admin_role, root.address).call()
    # the new root names accreditors; the old one no longer can
    stranger = actor(reg.w3, c, fund=False)
    assert root.reverts(f.nameAccreditor(stranger.address, "X", 2)).startswith("AccessControlUnauthorizedAccount")
    successor.send(f.nameAccreditor(stranger.address, "X", 2))


def test_a_successor_registry_names_its_predecessor(reg: Registry) -> None:
    from certifier.chain.deployment import Deployment, deploy

    assert reg.f.predecessor().call() == ZERO and reg.reader.predecessor() is None
    home = reg.chain.home / "succession"
    home.mkdir(exist_ok=True)
    deployment, created = deploy(reg.w3, home, "Ministère", predecessor=reg.c.address)
    assert created and deployment.predecessor == reg.c.address and deployment.root_name == "Ministère"
    assert deployment.genesis_hash == "0x" + bytes(reg.w3.eth.get_block(0)["hash"]).hex()
    assert Deployment.load(home) == deployment
    c = reg.w3.eth.contract(address=deployment.registry, abi=reg.c.abi)
    assert c.functions.predecessor().call() == reg.c.address
    assert ChainReader(reg.chain.url, deployment.registry).predecessor() == reg.c.address
    receipt = reg.w3.eth.get_transaction_receipt(deployment.transaction_hash)
    [event] = c.events.RegistrySucceeded().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["predecessor"] == reg.c.address
    # without --predecessor, deploying again keeps the recorded registry; with it, deploys anew
    assert deploy(reg.w3, home) == (deployment, False)
    again, created = deploy(reg.w3, home, "Ministère", predecessor=deployment.registry)
    assert created and again.registry != deployment.registry and again.predecessor == deployment.registry
    # the first registry of a chain announces no predecessor
    first = reg.w3.eth.get_transaction_receipt(reg.chain.deployment.transaction_hash)
    assert len(reg.c.events.RegistrySucceeded().process_receipt(first, errors=DISCARD)) == 0


def test_keys_are_never_reused_and_periods_must_make_sense(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc)
    other_id, _ = reg.issuer(acc)
    assert acc.reverts(reg.f.addKey(other_id, key.address, 0, 0)) == f"RegistryKeyAlreadyRegistered(key={key.address})"
    assert acc.reverts(reg.f.addKey(issuer_id, ZERO, 0, 0)) == "RegistryZeroAddress()"
    now = latest_time(reg.w3)
    fresh = actor(reg.w3, reg.c, fund=False)
    assert acc.reverts(reg.f.addKey(issuer_id, fresh.address, now + 100, now + 50)).startswith("RegistryInvalidPeriod")
    assert acc.reverts(reg.f.addKey(issuer_id, fresh.address, now - 100, 0)).startswith("RegistryInvalidPeriod")


def test_only_accredited_keys_anchor_each_root_once_and_only_permitted_kinds(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc, 1 << DIPLOMA)
    stranger = actor(reg.w3, reg.c)
    root = random_root()
    assert stranger.reverts(reg.f.anchor(root, 1, DIPLOMA)) == f"RegistryUnknownKey(key={stranger.address})"
    assert (
        key.reverts(reg.f.anchor(root, 1, PERMIT)) == f"RegistryKindNotPermitted(issuerId={issuer_id}, kind={PERMIT})"
    )
    assert key.reverts(reg.f.anchor(root, 0, DIPLOMA)) == "AnchorEmptyBatch()"
    assert key.reverts(reg.f.anchor(b"\0" * 32, 5, DIPLOMA)) == "AnchorEmptyBatch()"
    key.send(reg.f.anchor(root, 1, DIPLOMA))
    assert key.reverts(reg.f.anchor(root, 1, DIPLOMA)) == f"AnchorAlreadyExists(key={key.address}, root=0x{root.hex()})"
    anchored_at, count, kind = reg.f.anchorOf(key.address, root).call()
    assert anchored_at > 0 and (count, kind) == (1, DIPLOMA)
    assert reg.f.anchorOf(stranger.address, root).call() == (0, 0, 0)


def test_a_rival_anchoring_the_same_root_first_neither_blocks_nor_touches_the_issuer(reg: Registry) -> None:
    """Front-running: a rival issuer who copies a root from the mempool and anchors it first gets a
    batch of its own; the victim's anchor still succeeds, and each (key, root) lives apart."""
    acc = reg.accreditor()
    victim_id, victim = reg.issuer(acc, kinds_mask(["diploma", "transcript"]))
    rival_id, rival = reg.issuer(acc, kinds_mask(["diploma", "transcript"]))
    root = random_root()
    rival.send(reg.f.anchor(root, 9, 3))
    sent = victim.send(reg.f.anchor(root, 4, DIPLOMA))
    [event] = reg.c.events.RootAnchored().process_receipt(sent.receipt)
    assert dict(event["args"]) == {
        "root": root,
        "key": victim.address,
        "issuerId": victim_id,
        "kind": DIPLOMA,
        "documentCount": 4,
    }
    mine, theirs = reg.status(victim, root, 1), reg.status(rival, root, 1)
    assert (mine.key, mine.issuer_id, mine.document_count, mine.kind) == (victim.address, victim_id, 4, DIPLOMA)
    assert (theirs.key, theirs.issuer_id, theirs.document_count, theirs.kind) == (rival.address, rival_id, 9, 3)
    # revocations are per batch too: neither issuer can touch the other's, and one does not leak
    assert rival.reverts(reg.f.revoke(victim.address, root, 1, 1, b"\0" * 32)) == (
        f"AnchorNotRevoker(account={rival.address}, key={victim.address}, root=0x{root.hex()})"
    )
    rival.send(reg.f.revoke(rival.address, root, 1, int(Reason.FRAUD), b"\0" * 32))
    assert reg.status(rival, root, 1).revocation == Reason.FRAUD
    assert reg.status(victim, root, 1).revocation == Reason.NONE
    assert reg.f.revocationOf(victim.address, root, 1).call() == 0
    assert reg.reader.revocation_event(victim.address, root, 1, 0) is None
    assert reg.reader.revocation_event(rival.address, root, 1, 0) is not None


def test_a_key_not_yet_valid_cannot_anchor(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, _ = reg.issuer(acc)
    later = actor(reg.w3, reg.c)
    start = latest_time(reg.w3) + 3600
    acc.send(reg.f.addKey(issuer_id, later.address, start, 0))
    assert later.reverts(reg.f.anchor(random_root(), 1, DIPLOMA)).startswith(f"RegistryKeyNotValid(key={later.address}")


def test_rotated_key_keeps_its_old_anchors_valid_but_cannot_anchor_again(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, old = reg.issuer(acc)
    before = reg.anchor(old)
    advance(reg.w3, 10)
    new = actor(reg.w3, reg.c)
    acc.send(reg.f.addKey(issuer_id, new.address, 0, 0))
    acc.send(reg.f.endKeyValidity(old.address, latest_time(reg.w3), False))
    assert old.reverts(reg.f.anchor(random_root(), 1, DIPLOMA)).startswith("RegistryKeyNotValid")
    after = reg.anchor(new)
    assert reg.status(old, before).key_valid_at_anchoring
    assert reg.status(new, after).key_valid_at_anchoring
    assert reg.f.issuerKeys(issuer_id).call() == [old.address, new.address]
    assert not reg.reader.key_record(old.address).compromised  # a rotation, not a compromise


def test_compromised_key_is_cut_off_from_the_time_of_compromise(reg: Registry) -> None:
    acc, issuer_id, key, honest, compromised_at, forged = reg.breach()
    start = reg.reader.key_record(key.address).valid_from
    sent = acc.send(reg.f.endKeyValidity(key.address, compromised_at, True))
    [event] = reg.c.events.KeyValidityEnded().process_receipt(sent.receipt)
    assert event["args"]["compromised"] is True
    assert reg.status(key, honest).key_valid_at_anchoring
    assert not reg.status(key, forged).key_valid_at_anchoring
    # the key record tells a compromise cut-off from a rotation (for trust lists), in one slot
    record = reg.reader.key_record(key.address)
    assert (record.issuer_id, record.valid_from, record.valid_until, record.compromised) == (
        issuer_id,
        start,
        compromised_at,
        True,
    )
    assert reg.f.keyRecord(key.address).call() == (issuer_id, start, compromised_at, True)
    # validity can only shrink, and not into the future; a compromised key stays marked
    assert acc.reverts(reg.f.endKeyValidity(key.address, compromised_at + 10, True)).startswith("RegistryInvalidPeriod")
    acc.send(reg.f.endKeyValidity(key.address, compromised_at - 1, False))
    assert reg.reader.key_record(key.address).compromised
    stranger = actor(reg.w3, reg.c, fund=False)
    assert acc.reverts(reg.f.endKeyValidity(stranger.address, 1, True)) == f"RegistryUnknownKey(key={stranger.address})"


def test_suspension_is_back_datable_and_reinstatement_reopens(reg: Registry) -> None:
    acc, issuer_id, key, honest, since, forged = reg.breach()
    assert acc.reverts(reg.f.suspendIssuer(issuer_id, since, "")) == "RegistryEmptyText()"
    future = latest_time(reg.w3) + 1000
    assert acc.reverts(reg.f.suspendIssuer(issuer_id, future, "x")).startswith("RegistryInvalidPeriod")
    assert acc.reverts(reg.f.reinstateIssuer(issuer_id)) == f"RegistryIssuerNotSuspended(issuerId={issuer_id})"
    reg.root.send(reg.f.suspendIssuer(issuer_id, since, "server breach"))
    assert (
        acc.reverts(reg.f.suspendIssuer(issuer_id, since, "again")) == f"RegistryIssuerSuspended(issuerId={issuer_id})"
    )
    assert key.reverts(reg.f.anchor(random_root(), 1, DIPLOMA)) == f"RegistryIssuerSuspended(issuerId={issuer_id})"
    assert reg.status(key, honest).issuer_active_at_anchoring
    assert not reg.status(key, forged).issuer_active_at_anchoring
    advance(reg.w3, 50)
    acc.send(reg.f.reinstateIssuer(issuer_id))
    advance(reg.w3, 5)
    later = reg.anchor(key)
    assert reg.status(key, later).issuer_active_at_anchoring
    assert not reg.status(key, forged).issuer_active_at_anchoring
    info = reg.reader.issuer(issuer_id)
    assert not info.suspended and len(info.suspensions) == 1 and info.suspensions[0].reason == "server breach"
    # a new suspension cannot be back-dated into the previous one
    assert acc.reverts(reg.f.suspendIssuer(issuer_id, since, "x")).startswith("RegistryInvalidPeriod")


def test_narrowing_an_issuers_kinds_later_leaves_its_old_anchors_valid(reg: Registry) -> None:
    """An anchor stays within what was accredited when it was made: withdrawing a kind acts from
    then on, like closing a key."""
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc, kinds_mask(["diploma", "residence_permit"]))
    permit = reg.anchor(key, kind=PERMIT)
    acc.send(reg.f.setIssuerKinds(issuer_id, 1 << DIPLOMA))
    status = reg.status(key, permit)
    assert status.anchored and status.kind == PERMIT and status.revocation == Reason.NONE
    assert status.key_valid_at_anchoring and status.issuer_active_at_anchoring
    assert key.reverts(reg.f.anchor(random_root(), 1, PERMIT)) == (
        f"RegistryKindNotPermitted(issuerId={issuer_id}, kind={PERMIT})"
    )
    reg.anchor(key, kind=DIPLOMA)
    assert acc.reverts(reg.f.setIssuerKinds(issuer_id, 0)) == "RegistryInvalidKinds(kinds=0)"


def test_single_revocation_with_reason_and_replacement(reg: Registry) -> None:
    acc = reg.accreditor()
    _, key = reg.issuer(acc)
    root = reg.anchor(key, count=70)
    replacement = random_root()
    sent = key.send(reg.f.revoke(key.address, root, 65, int(Reason.CLERICAL_ERROR), replacement))
    [event] = reg.c.events.DocumentRevoked().process_receipt(sent.receipt)
    assert dict(event["args"]) == {
        "root": root,
        "key": key.address,
        "index": 65,
        "reason": int(Reason.CLERICAL_ERROR),
        "replacedBy": replacement,
        "by": key.address,
    }
    assert reg.status(key, root, 65).revocation == Reason.CLERICAL_ERROR
    assert reg.status(key, root, 64).revocation == Reason.NONE
    found = reg.reader.revocation_event(key.address, root, 65, 0)
    assert found is not None and found.replaced_by == replacement and found.block_number == sent.block_number
    batch = f"key={key.address}, root=0x{root.hex()}"
    assert key.reverts(reg.f.revoke(key.address, root, 65, 1, b"\0" * 32)) == f"AnchorAlreadyRevoked({batch}, index=65)"
    assert key.reverts(reg.f.revoke(key.address, root, 70, 1, b"\0" * 32)) == (
        f"AnchorIndexOutOfRange({batch}, index=70, documentCount=70)"
    )
    assert key.reverts(reg.f.revoke(key.address, root, 1, 0, b"\0" * 32)) == "AnchorInvalidReason(reason=0)"
    unknown = random_root()
    assert key.reverts(reg.f.revoke(key.address, unknown, 0, 1, b"\0" * 32)) == (
        f"AnchorUnknownRoot(key={key.address}, root=0x{unknown.hex()})"
    )


def test_only_the_issuer_its_accreditor_or_the_root_revoke(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc)
    root = reg.anchor(key, count=8)
    _, other_key = reg.issuer(acc)
    assert other_key.reverts(reg.f.revoke(key.address, root, 0, 1, b"\0" * 32)) == (
        f"AnchorNotRevoker(account={other_key.address}, key={key.address}, root=0x{root.hex()})"
    )
    acc.send(reg.f.revoke(key.address, root, 0, int(Reason.FRAUD), b"\0" * 32))
    reg.root.send(reg.f.revoke(key.address, root, 1, int(Reason.ANNULMENT), b"\0" * 32))
    # after rotation, the issuer's new key revokes what the old key anchored
    new = actor(reg.w3, reg.c)
    acc.send(reg.f.addKey(issuer_id, new.address, 0, 0))
    acc.send(reg.f.endKeyValidity(key.address, latest_time(reg.w3), False))
    assert key.reverts(reg.f.revoke(key.address, root, 2, 1, b"\0" * 32)).startswith("AnchorNotRevoker")
    new.send(reg.f.revoke(key.address, root, 2, int(Reason.SUPERSEDED), b"\0" * 32))
    reasons = [reg.status(key, root, i).revocation for i in range(4)]
    assert reasons == [Reason.FRAUD, Reason.ANNULMENT, Reason.SUPERSEDED, Reason.NONE]


def test_bulk_revocation_sets_exactly_the_bits_given(reg: Registry) -> None:
    acc = reg.accreditor()
    _, key = reg.issuer(acc)
    root = reg.anchor(key, count=600)
    chosen = [3, 63, 64, 255, 256, 300, 511, 599]
    offset = 0
    words = [0, 0, 0]
    for i in chosen:
        words[i // 256] |= 1 << (i % 256)
    sent = key.send(reg.f.revokeMany(key.address, root, offset, words, int(Reason.FRAUD)))
    [event] = reg.c.events.DocumentsRevoked().process_receipt(sent.receipt)
    assert (event["args"]["root"], event["args"]["key"], event["args"]["bitmap"]) == (root, key.address, words)
    revoked = [i for i in range(600) if reg.f.revocationOf(key.address, root, i).call() != 0]
    assert revoked == chosen
    found = reg.reader.revocation_event(key.address, root, 300, 0)
    assert found is not None and found.replaced_by is None
    # all or nothing: one already revoked, or one out of range, refuses the whole transaction
    batch = f"key={key.address}, root=0x{root.hex()}"
    assert key.reverts(reg.f.revokeMany(key.address, root, 0, [1 << 3 | 1 << 4], 1)) == (
        f"AnchorAlreadyRevoked({batch}, index=3)"
    )
    assert reg.f.revocationOf(key.address, root, 4).call() == 0
    assert key.reverts(reg.f.revokeMany(key.address, root, 512, [1 << 100], 1)) == (
        f"AnchorIndexOutOfRange({batch}, index=612, documentCount=600)"
    )
    assert key.reverts(reg.f.revokeMany(key.address, root, 0, [0], 1)) == "AnchorEmptyBatch()"
    assert key.reverts(reg.f.revokeMany(key.address, root, 10, [1], 1)) == "AnchorMisalignedOffset(offset=10)"
    assert key.reverts(reg.f.revokeMany(key.address, root, 0, [1 << 5], 0)) == "AnchorInvalidReason(reason=0)"
    stranger = actor(reg.w3, reg.c, fund=False)
    assert key.reverts(reg.f.revokeMany(stranger.address, root, 0, [1], 1)) == (
        f"AnchorUnknownRoot(key={stranger.address}, root=0x{root.hex()})"
    )


def test_check_document_verifies_the_merkle_proof_on_chain_with_openzeppelin(reg: Registry) -> None:
    from certifier.chain.merkle_batch import MerkleBatch

    acc = reg.accreditor()
    _, key = reg.issuer(acc)
    batch = MerkleBatch.build([bytes([i]) * 32 for i in range(5)], DIPLOMA, 1_700_000_000)
    key.send(reg.f.anchor(batch.root, 5, DIPLOMA))
    for i, h in enumerate(batch.hashes):
        ok, status = reg.reader.check_document(key.address, batch.root, i, h, batch.tree.proof(h))
        assert ok and status.anchored
    wrong, _ = reg.reader.check_document(key.address, batch.root, 0, batch.hashes[0], batch.tree.proof(batch.hashes[1]))
    assert not wrong
    # the same root under another key is another (here: unknown) batch
    ok, status = reg.reader.check_document(
        acc.address, batch.root, 0, batch.hashes[0], batch.tree.proof(batch.hashes[0])
    )
    assert ok and not status.anchored


def test_document_status_of_an_unknown_root_says_not_anchored(reg: Registry) -> None:
    status = reg.reader.document_status(reg.root.address, random_root(), 0)
    assert not status.anchored and status.anchored_at == 0


def test_reserved_revocation_codes_read_from_chain_are_named_not_fatal() -> None:
    """Codes 6 to 15 are reserved for reasons a later registry may add: a reader of this version
    names them instead of failing, and cannot write them."""
    from verifier.chain import _status
    from verifier.core.errors import ChainError

    assert [Reason.slug_of(c) for c in (0, 1, 5, 6, 15)] == ["none", "fraud", "superseded", "unknown_6", "unknown_15"]
    status = _status((True, 1, ZERO, 1, 4, DIPLOMA, True, True, 9))
    assert status.revocation == 9 and status.revocation != Reason.NONE
    with pytest.raises(ChainError, match="impossible revocation code 16"):
        _status((True, 1, ZERO, 1, 4, DIPLOMA, True, True, 16))
    with pytest.raises(ValueError, match="unknown revocation reason"):
        Reason.from_slug("unknown_6")


def test_gas_of_anchoring_and_bulk_revocation_stays_within_budget(reg: Registry) -> None:
    """Gas is deterministic, so this pins the budget (scripts/bench_gas.py prints the full table)."""
    from certifier.chain.revoking import bitmap

    acc = reg.accreditor()
    _, key = reg.issuer(acc)
    root = random_root()
    assert key.send(reg.f.anchor(root, 100, DIPLOMA)).gas_used <= 60_000
    offset, words = bitmap(list(range(100)))
    assert key.send(reg.f.revokeMany(key.address, root, offset, words, int(Reason.FRAUD))).gas_used <= 100 * 1_000
    assert all(reg.status(key, root, i).revocation == Reason.FRAUD for i in (0, 63, 64, 99))


def test_a_suspended_issuers_key_may_still_revoke(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc)
    root = reg.anchor(key, count=2)
    acc.send(reg.f.suspendIssuer(issuer_id, latest_time(reg.w3), "inquiry"))
    key.send(reg.f.revoke(key.address, root, 0, int(Reason.FRAUD), b"\0" * 32))
    assert reg.status(key, root).revocation == Reason.FRAUD


def test_deploy_replaces_a_record_made_on_another_chain_with_the_same_id_and_address(reg: Registry) -> None:
    """Every dev chain on which `sceau deploy` ran first has the registry at the same address with
    the same code: a record made on another of them (its genesis says so) is not reused, which
    would hand out trust anchors naming the other chain; a registry of this chain is deployed."""
    from certifier.chain.deployment import Deployment, deploy

    home = reg.chain.home / "another-chain"
    home.mkdir(exist_ok=True)
    made, created = deploy(reg.w3, home, "Ministère")
    assert created and deploy(reg.w3, home, "Ministère") == (made, False)
    elsewhere = replace(made, genesis_hash="0x" + "77" * 32)  # the same id, address and code, not this chain
    elsewhere.save(home)
    again, created = deploy(reg.w3, home, "Ministère")
    genesis = "0x" + bytes(reg.w3.eth.get_block(0)["hash"]).hex()
    assert created and again.registry != made.registry and again.genesis_hash == genesis
    assert Deployment.load(home) == again
    anchors = json.loads((home / "trust-anchors.json").read_text())
    assert [a["genesisHash"] for a in anchors["anchors"]] == [genesis]
