"""The registry's behaviour on a real node: roles, accreditation at anchoring time, key rotation
and compromise, suspension, anchoring, revocation, and every custom error."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chainhelpers import Actor, actor, advance, latest_time, random_root, root_actor
from verifier.chain import ChainReader, Reason
from verifier.kinds import kinds_mask

DIPLOMA = 1
PERMIT = 2


class Registry:
    def __init__(self, chain: Any) -> None:
        self.w3 = chain.w3
        self.c = chain.registry
        self.f = self.c.functions
        self.root = root_actor(self.w3, self.c)
        self.reader = ChainReader(chain.url, chain.deployment.registry)

    def accreditor(self, name: str = "Rectorat de Lyon") -> Actor:
        a = actor(self.w3, self.c)
        self.root.send(self.f.nameAccreditor(a.address, name))
        return a

    def issuer(self, accreditor: Actor, kinds: int = 1 << DIPLOMA) -> tuple[int, Actor]:
        sent = accreditor.send(self.f.accreditIssuer("Université Test", "0691774D", kinds))
        issuer_id = self.c.events.IssuerAccredited().process_receipt(sent.receipt)[0]["args"]["issuerId"]
        key = actor(self.w3, self.c)
        accreditor.send(self.f.addKey(issuer_id, key.address, 0, 0))
        return issuer_id, key

    def anchor(self, key: Actor, count: int = 4, kind: int = DIPLOMA) -> bytes:
        root = random_root()
        key.send(self.f.anchor(root, count, kind))
        return root


@pytest.fixture
def reg(chain: Any) -> Registry:
    return Registry(chain)


def test_root_names_accreditors_who_accredit_issuers_whose_keys_anchor(reg: Registry) -> None:
    acc = reg.accreditor("Rectorat de Lyon")
    issuer_id, key = reg.issuer(acc, kinds_mask(["diploma", "transcript"]))
    root = reg.anchor(key, count=3)
    status = reg.reader.document_status(root, 2)
    assert status.anchored and status.issuer_id == issuer_id and status.document_count == 3
    assert status.key_valid_at_anchoring and status.issuer_active_at_anchoring and status.kind_permitted
    assert status.revocation is Reason.NONE
    info = reg.reader.issuer(issuer_id)
    assert (info.name, info.identifier, info.accreditor_name) == ("Université Test", "0691774D", "Rectorat de Lyon")


def test_only_the_root_names_accreditors_and_only_accreditors_accredit(reg: Registry) -> None:
    stranger = actor(reg.w3, reg.c)
    assert reg.root.reverts(reg.f.nameAccreditor(stranger.address, "")) == "RegistryEmptyText()"
    assert stranger.reverts(reg.f.nameAccreditor(stranger.address, "Me")).startswith("AccessControlUnauthorizedAccount")
    assert stranger.reverts(reg.f.accreditIssuer("X", "Y", 2)).startswith(
        f"AccessControlUnauthorizedAccount(account={stranger.address}"
    )
    assert reg.root.reverts(reg.f.nameAccreditor("0x" + "00" * 20, "Zero")) == "RegistryZeroAddress()"


def test_accreditation_input_is_checked(reg: Registry) -> None:
    acc = reg.accreditor()
    assert acc.reverts(reg.f.accreditIssuer("", "ID", 2)) == "RegistryEmptyText()"
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


def test_keys_are_never_reused_and_periods_must_make_sense(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc)
    other_id, _ = reg.issuer(acc)
    assert acc.reverts(reg.f.addKey(other_id, key.address, 0, 0)) == f"RegistryKeyAlreadyRegistered(key={key.address})"
    assert acc.reverts(reg.f.addKey(issuer_id, "0x" + "00" * 20, 0, 0)) == "RegistryZeroAddress()"
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
    assert key.reverts(reg.f.anchor(root, 1, DIPLOMA)) == f"AnchorAlreadyExists(root=0x{root.hex()})"
    # another issuer cannot overwrite it either
    _, other_key = reg.issuer(acc)
    assert other_key.reverts(reg.f.anchor(root, 9, DIPLOMA)) == f"AnchorAlreadyExists(root=0x{root.hex()})"
    assert reg.c.functions.anchorOf(root).call()[0] == key.address


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
    assert reg.reader.document_status(before, 0).key_valid_at_anchoring
    assert reg.reader.document_status(after, 0).key_valid_at_anchoring
    assert reg.f.issuerKeys(issuer_id).call() == [old.address, new.address]


def test_compromised_key_is_cut_off_from_the_time_of_compromise(reg: Registry) -> None:
    acc = reg.accreditor()
    _, key = reg.issuer(acc)
    honest = reg.anchor(key)
    compromised_at = advance(reg.w3, 100)
    advance(reg.w3, 100)
    forged = reg.anchor(key)  # made with the stolen key before anyone noticed
    acc.send(reg.f.endKeyValidity(key.address, compromised_at, True))
    assert reg.reader.document_status(honest, 0).key_valid_at_anchoring
    assert not reg.reader.document_status(forged, 0).key_valid_at_anchoring
    # validity can only shrink, and not into the future
    assert acc.reverts(reg.f.endKeyValidity(key.address, compromised_at + 10, True)).startswith("RegistryInvalidPeriod")
    stranger = actor(reg.w3, reg.c, fund=False)
    assert acc.reverts(reg.f.endKeyValidity(stranger.address, 1, True)) == f"RegistryUnknownKey(key={stranger.address})"


def test_suspension_is_back_datable_and_reinstatement_reopens(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc)
    honest = reg.anchor(key)
    since = advance(reg.w3, 100)
    advance(reg.w3, 100)
    forged = reg.anchor(key)
    assert acc.reverts(reg.f.suspendIssuer(issuer_id, since, "")) == "RegistryEmptyText()"
    future = latest_time(reg.w3) + 1000
    assert acc.reverts(reg.f.suspendIssuer(issuer_id, future, "x")).startswith("RegistryInvalidPeriod")
    assert acc.reverts(reg.f.reinstateIssuer(issuer_id)) == f"RegistryIssuerNotSuspended(issuerId={issuer_id})"
    reg.root.send(reg.f.suspendIssuer(issuer_id, since, "server breach"))
    assert (
        acc.reverts(reg.f.suspendIssuer(issuer_id, since, "again")) == f"RegistryIssuerSuspended(issuerId={issuer_id})"
    )
    assert key.reverts(reg.f.anchor(random_root(), 1, DIPLOMA)) == f"RegistryIssuerSuspended(issuerId={issuer_id})"
    assert reg.reader.document_status(honest, 0).issuer_active_at_anchoring
    assert not reg.reader.document_status(forged, 0).issuer_active_at_anchoring
    advance(reg.w3, 50)
    acc.send(reg.f.reinstateIssuer(issuer_id))
    advance(reg.w3, 5)
    later = reg.anchor(key)
    assert reg.reader.document_status(later, 0).issuer_active_at_anchoring
    assert not reg.reader.document_status(forged, 0).issuer_active_at_anchoring
    info = reg.reader.issuer(issuer_id)
    assert not info.suspended and len(info.suspensions) == 1 and info.suspensions[0].reason == "server breach"
    # a new suspension cannot be back-dated into the previous one
    assert acc.reverts(reg.f.suspendIssuer(issuer_id, since, "x")).startswith("RegistryInvalidPeriod")


def test_kinds_withdrawn_later_make_old_anchors_of_that_kind_untrusted(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc, kinds_mask(["diploma", "residence_permit"]))
    permit = reg.anchor(key, kind=PERMIT)
    acc.send(reg.f.setIssuerKinds(issuer_id, 1 << DIPLOMA))
    assert not reg.reader.document_status(permit, 0).kind_permitted
    assert acc.reverts(reg.f.setIssuerKinds(issuer_id, 0)) == "RegistryInvalidKinds(kinds=0)"


def test_single_revocation_with_reason_and_replacement(reg: Registry) -> None:
    acc = reg.accreditor()
    _, key = reg.issuer(acc)
    root = reg.anchor(key, count=70)
    replacement = random_root()
    sent = key.send(reg.f.revoke(root, 65, int(Reason.CLERICAL_ERROR), replacement))
    assert reg.reader.document_status(root, 65).revocation is Reason.CLERICAL_ERROR
    assert reg.reader.document_status(root, 64).revocation is Reason.NONE
    event = reg.reader.revocation_event(root, 65, 0)
    assert event is not None and event.replaced_by == replacement and event.block_number == sent.block_number
    assert key.reverts(reg.f.revoke(root, 65, 1, b"\0" * 32)) == f"AnchorAlreadyRevoked(root=0x{root.hex()}, index=65)"
    assert key.reverts(reg.f.revoke(root, 70, 1, b"\0" * 32)) == (
        f"AnchorIndexOutOfRange(root=0x{root.hex()}, index=70, documentCount=70)"
    )
    assert key.reverts(reg.f.revoke(root, 1, 0, b"\0" * 32)) == "AnchorInvalidReason(reason=0)"
    unknown = random_root()
    assert key.reverts(reg.f.revoke(unknown, 0, 1, b"\0" * 32)) == f"AnchorUnknownRoot(root=0x{unknown.hex()})"


def test_only_the_issuer_its_accreditor_or_the_root_revoke(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc)
    root = reg.anchor(key, count=8)
    _, other_key = reg.issuer(acc)
    assert other_key.reverts(reg.f.revoke(root, 0, 1, b"\0" * 32)) == (
        f"AnchorNotRevoker(account={other_key.address}, root=0x{root.hex()})"
    )
    acc.send(reg.f.revoke(root, 0, int(Reason.FRAUD), b"\0" * 32))
    reg.root.send(reg.f.revoke(root, 1, int(Reason.ANNULMENT), b"\0" * 32))
    # after rotation, the issuer's new key revokes what the old key anchored
    new = actor(reg.w3, reg.c)
    acc.send(reg.f.addKey(issuer_id, new.address, 0, 0))
    acc.send(reg.f.endKeyValidity(key.address, latest_time(reg.w3), False))
    assert key.reverts(reg.f.revoke(root, 2, 1, b"\0" * 32)).startswith("AnchorNotRevoker")
    new.send(reg.f.revoke(root, 2, int(Reason.SUPERSEDED), b"\0" * 32))
    reasons = [reg.reader.document_status(root, i).revocation for i in range(4)]
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
    key.send(reg.f.revokeMany(root, offset, words, int(Reason.FRAUD)))
    revoked = [i for i in range(600) if reg.f.revocationOf(root, i).call() != 0]
    assert revoked == chosen
    event = reg.reader.revocation_event(root, 300, 0)
    assert event is not None and event.replaced_by is None
    # all or nothing: one already revoked, or one out of range, refuses the whole transaction
    assert key.reverts(reg.f.revokeMany(root, 0, [1 << 3 | 1 << 4], 1)) == (
        f"AnchorAlreadyRevoked(root=0x{root.hex()}, index=3)"
    )
    assert reg.f.revocationOf(root, 4).call() == 0
    assert key.reverts(reg.f.revokeMany(root, 512, [1 << 100], 1)).startswith("AnchorIndexOutOfRange")
    assert key.reverts(reg.f.revokeMany(root, 0, [0], 1)) == "AnchorEmptyBatch()"
    assert key.reverts(reg.f.revokeMany(root, 10, [1], 1)) == "AnchorMisalignedOffset(offset=10)"
    assert key.reverts(reg.f.revokeMany(root, 0, [1 << 5], 0)) == "AnchorInvalidReason(reason=0)"


def test_check_document_verifies_the_merkle_proof_on_chain_with_openzeppelin(reg: Registry) -> None:
    from certifier.batch import Batch

    acc = reg.accreditor()
    _, key = reg.issuer(acc)
    batch = Batch.build([bytes([i]) * 32 for i in range(5)], DIPLOMA, 1_700_000_000)
    key.send(reg.f.anchor(batch.root, 5, DIPLOMA))
    for i, h in enumerate(batch.hashes):
        ok, status = reg.reader.check_document(batch.root, i, h, batch.tree.proof(h))
        assert ok and status.anchored
    wrong, _ = reg.reader.check_document(batch.root, 0, batch.hashes[0], batch.tree.proof(batch.hashes[1]))
    assert not wrong


def test_document_status_of_an_unknown_root_says_not_anchored(reg: Registry) -> None:
    status = reg.reader.document_status(random_root(), 0)
    assert not status.anchored and status.anchored_at == 0


def test_gas_of_anchoring_and_bulk_revocation_stays_within_budget(reg: Registry) -> None:
    """Gas is deterministic, so this pins the budget (scripts/bench_gas.py prints the full table)."""
    from certifier.revoking import bitmap

    acc = reg.accreditor()
    _, key = reg.issuer(acc)
    root = random_root()
    assert key.send(reg.f.anchor(root, 100, DIPLOMA)).gas_used <= 60_000
    offset, words = bitmap(list(range(100)))
    assert key.send(reg.f.revokeMany(root, offset, words, int(Reason.FRAUD))).gas_used <= 100 * 1_000
    assert all(reg.reader.document_status(root, i).revocation is Reason.FRAUD for i in (0, 63, 64, 99))


def test_a_suspended_issuers_key_may_still_revoke(reg: Registry) -> None:
    acc = reg.accreditor()
    issuer_id, key = reg.issuer(acc)
    root = reg.anchor(key, count=2)
    acc.send(reg.f.suspendIssuer(issuer_id, latest_time(reg.w3), "inquiry"))
    key.send(reg.f.revoke(root, 0, int(Reason.FRAUD), b"\0" * 32))
    assert reg.reader.document_status(root, 0).revocation is Reason.FRAUD
