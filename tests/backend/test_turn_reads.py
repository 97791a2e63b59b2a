"""A client's turn reads her sender, her client row and her turn's facts in one round trip
(backend/services/turn_reads.py), and keeps the facts for the step that needs them only while
nothing in the turn has written since (Database.keep_read)."""

from __future__ import annotations

from sqlalchemy import event, select

from backend.api import Backend
from backend.orm import Housekeeper, Identity, Manager, Takeover
from backend.services import turn_reads


def _statements(be: Backend) -> list[str]:
    seen: list[str] = []
    event.listen(be.db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def _take_over(be: Backend, client_id: int) -> int:
    with be.db.uow() as s:
        manager_id = s.scalar(select(Manager.id).limit(1))
        s.add(Takeover(client_id=client_id, manager_id=manager_id))
    return manager_id


def test_a_client_turn_reads_its_facts_with_the_sender(be: Backend) -> None:
    other = be.client_for("rest", "c-0")
    _take_over(be, other.id)  # another client's takeover is not hers
    assert be.client_turn(be.message_from("rest", "c-0").id)["manager_id"] is not None
    client = be.client_for("rest", "c-1")
    with be.db.turn():
        assert be.client_turn(be.message_from("rest", "c-1").id)["manager_id"] is None
    manager_id = _take_over(be, client.id)
    be.message_from("rest", "c-1")  # the route's first stamp, outside the measured turn
    seen = _statements(be)
    with be.db.turn():
        person = be.message_from("rest", "c-1")
        ctx = be.client_turn(person.id)
    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1 and "takeovers" in reads[0] and "clients" in reads[0]
    assert ctx["manager_id"] == manager_id and ctx["survey"] is None and ctx["butler"] is None
    with be.db.read() as s:  # the same facts as the separate read gives
        assert turn_reads.client_facts(s, client.id, be.now, be.ctx.butler) == (manager_id, None, False)


def _kinds(statements: list[str]) -> list[str]:
    return [s.split(None, 1)[0].upper() for s in statements if not s.lstrip().upper().startswith("BEGIN")]


def test_a_new_clients_first_turns_read_and_write_only_what_they_need(be: Backend) -> None:
    seen = _statements(be)
    with be.db.turn():
        assert be.message_from("rest", "new-1") is None
        person = be.client_for("rest", "new-1")
        ctx = be.client_turn(person.id)
    assert ctx == {"manager_id": None, "phone": None, "survey": None, "butler": None}
    # only the sender's read asks for facts: nothing to look up for a client created in this turn
    assert sum("takeovers" in s for s in seen) == 1 and "identities" in next(s for s in seen if "takeovers" in s)
    with be.db.read() as s:  # her route stamped at registration: her next message has nothing to update
        assert s.scalar(select(Identity.last_seen_at).where(Identity.external_id == "new-1")) == be.now
    be.set_client(person.id, phone="13812345678")
    seen.clear()
    with be.db.turn():
        ctx = be.client_turn(be.message_from("rest", "new-1").id)
    assert ctx["phone"] == "13812345678"  # read with the sender
    assert _kinds(seen) == ["SELECT"]


def test_a_write_between_drops_the_kept_facts(be: Backend) -> None:
    client = be.client_for("rest", "c-2")
    be.message_from("rest", "c-2")
    with be.db.turn():
        person = be.message_from("rest", "c-2")  # facts read: nobody holds the conversation
        manager_id = _take_over(be, client.id)  # a unit of work in the same turn, after the read
        assert be.client_turn(person.id)["manager_id"] == manager_id  # read again, not the kept None


def test_outside_a_turn_nothing_is_kept(be: Backend) -> None:
    be.client_for("rest", "c-3")
    be.db.keep_read(turn_reads.FACTS, turn_reads.KeptFacts(1, turn_reads.NEW_CLIENT_FACTS, None))
    assert be.db.kept_read(turn_reads.FACTS) is None
    person = be.message_from("rest", "c-3")
    assert person is not None and be.client_turn(person.id)["manager_id"] is None


def test_staff_senders_have_no_client_facts(be: Backend) -> None:
    with be.db.read() as s:
        hk_id = s.scalar(select(Housekeeper.id).limit(1))
    be.bind("housekeeper", hk_id, "telegram", "hk-1")
    with be.db.read() as s:
        ident, _, client, facts = turn_reads.sender_with_client(s, "telegram", "hk-1", be.now, be.ctx.butler)
        assert ident is not None and ident.person_id == hk_id and client is None and facts is None
    person = be.message_from("telegram", "hk-1")
    assert person is not None and person.kind == "housekeeper" and person.id == hk_id
