"""The worker's states: one table of moves, enforced by the compare-and-set every move goes
through, and stored as the same strings as before they were typed (no migration)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from certifier.store.db import Base, Batch
from certifier.store.states import IN_FLIGHT, TRANSITIONS, TxStatus
from certifier.worker.jobs import BrokenJob, transition


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'states.sqlite'}")
    Base.metadata.create_all(engine)
    made = sessionmaker(engine, expire_on_commit=False)
    with made() as s:
        s.add(Batch(id="b1", issuer="u", kind=1, root="0x" + "11" * 32, document_count=1))
        s.commit()
    yield made
    engine.dispose()


def read(sessions: sessionmaker[Session]) -> Batch:
    """The job as the worker holds it: read in a session of its own, then detached."""
    with sessions() as s:
        job = s.get(Batch, "b1")
    assert job is not None
    return job


def test_every_state_has_its_moves_and_only_terminal_states_have_none() -> None:
    assert set(TRANSITIONS) == set(TxStatus)
    assert {s for s, moves in TRANSITIONS.items() if not moves} == {TxStatus.confirmed, TxStatus.failed}
    assert set(IN_FLIGHT) == {TxStatus.built, TxStatus.signed, TxStatus.sent, TxStatus.mined}


def test_a_move_is_a_compare_and_set_from_the_status_read(sessions: sessionmaker[Session]) -> None:
    job = read(sessions)
    assert job.status is TxStatus.built
    with sessions() as s:
        assert transition(s, job, TxStatus.signed, nonce=7)
        s.commit()
    with sessions() as s:
        assert not transition(s, job, TxStatus.signed)  # read as built: another worker moved it first
        assert s.execute(text("SELECT status, nonce FROM batches")).one() == ("signed", 7)


def test_a_move_the_table_does_not_list_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        with pytest.raises(BrokenJob, match="no move from built to confirmed"):
            transition(s, read(sessions), TxStatus.confirmed)
        s.execute(text("UPDATE batches SET status = 'confirmed'"))
        s.commit()
    job = read(sessions)
    assert job.status is TxStatus.confirmed  # the stored string reads back as the state
    with sessions() as s, pytest.raises(BrokenJob):
        transition(s, job, TxStatus.sent)
