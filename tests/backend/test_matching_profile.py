"""The profile in matching and on the housekeeper's cards: pets and an English speaker asked for are hard
constraints with the reason visible to managers, never-again stays hard, preferred is a bonus that shows;
the offer card has our words for what matters and never the client's, the job card has everything."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend.api import Backend, Request
from backend.domain.matching import Candidate, rank
from backend.orm import Client, Housekeeper, Notification, Offer
from dialogs.domain import Domain
from dialogs.notify import Notifier

TZ = ZoneInfo("Asia/Shanghai")
CAT_WORDS = "家里有只叫豆豆的布偶猫，别让它跑出去"
VISIT_NOTES = "请带一把梯子"


def tomorrow(hour: int = 10) -> datetime:
    return datetime(2026, 11, 19, hour, 0, tzinfo=TZ)  # a Thursday


def hks(be: Backend) -> dict[int, Housekeeper]:
    with be.db.uow() as s:
        out = {h.id: h for h in s.scalars(select(Housekeeper))}
        s.expunge_all()
        return out


def client(be: Backend, sender: str, lang: str = "zh", items: list[dict] | None = None) -> int:
    c = be.client_for("rest", sender, lang)
    if items:
        be.add_profile_items(c.id, items)
    return c.id


def book(be: Backend, client_id: int, **kw) -> dict:
    return be.book(client_id, Request("cleaning", tomorrow(), hours=2, address="朝阳区建国路88号",
                                      district="朝阳", **kw))


def test_a_cat_excludes_those_who_do_not_work_with_pets_and_says_why(be: Backend) -> None:
    staff = hks(be)
    no_pets = {i for i, h in staff.items() if not h.pets_ok and "cleaning" in h.skills}
    assert no_pets  # the demo roster has some, free on a Thursday morning
    plain = be.candidates(book(be, client(be, "m-plain"))["id"])
    assert no_pets <= {c["housekeeper_id"] for c in plain if c["state"] in ("ranked", "offered")}

    cat = client(be, "m-cat", items=[{"kind": "pet", "code": "cat", "text": CAT_WORDS}])
    b = book(be, cat)
    cands = be.candidates(b["id"])
    offered = [c for c in cands if c["state"] not in ("excluded",)]
    assert offered and all(staff[c["housekeeper_id"]].pets_ok for c in offered)
    excluded = {c["housekeeper_id"]: c for c in cands if c["state"] == "excluded"}
    assert set(excluded) == no_pets
    assert all(c["reasons"] == {"excluded": "pets"} and c["rank"] > len(offered) for c in excluded.values())
    with be.db.uow() as s:
        offer = s.scalar(select(Offer).where(Offer.booking_id == b["id"]))
        assert staff[offer.housekeeper_id].pets_ok
    # dropped for this visit: the cat does not apply, they are candidates again
    free = be.candidates(book(be, cat, standing_notes=[])["id"])
    assert not [c for c in free if c["state"] == "excluded"]


def test_an_english_speaker_asked_for_is_hard_otherwise_language_is_a_score(be: Backend) -> None:
    staff = hks(be)
    en = client(be, "m-en", "en", items=[{"kind": "language", "code": "english_speaker", "text": None}])
    cands = be.candidates(book(be, en)["id"])
    kept = [c for c in cands if c["state"] != "excluded"]
    assert kept and all("en" in staff[c["housekeeper_id"]].languages for c in kept)
    assert {c["reasons"]["excluded"] for c in cands if c["state"] == "excluded"} == {"language:en"}
    # an English-speaking client who did not ask: Chinese-only housekeepers are still candidates
    loose = be.candidates(book(be, client(be, "m-en-loose", "en"))["id"])
    assert any("en" not in staff[c["housekeeper_id"]].languages for c in loose)
    assert all(c["state"] != "excluded" for c in loose)


def test_never_again_stays_hard_and_preferred_ranks_first_with_its_reason(be: Backend) -> None:
    first = be.candidates(book(be, client(be, "m-first"))["id"])
    top, last = first[0]["housekeeper_id"], first[-1]["housekeeper_id"]
    picky = client(be, "m-picky")
    with be.db.uow() as s:
        c = s.get(Client, picky)
        c.preferred, c.never_again = [last], [top]
    cands = be.candidates(book(be, picky)["id"])
    assert top not in {c["housekeeper_id"] for c in cands if c["state"] != "excluded"}
    # never offered, and /candidates says why she was passed over
    assert [(c["state"], c["reasons"]) for c in cands if c["housekeeper_id"] == top] == [
        ("excluded", {"excluded": "never_again"})]
    cands = [c for c in cands if c["state"] != "excluded"]
    assert cands[0]["housekeeper_id"] == last and cands[0]["state"] == "offered"
    assert cands[0]["reasons"]["client_preferred"] == 0.3
    assert cands[0]["score"] == round(sum(cands[0]["reasons"].values()), 4)
    assert all("client_preferred" not in c["reasons"] for c in cands[1:])


def test_rank_gives_the_bonus_only_to_the_preferred() -> None:
    cands = [Candidate(1, 4.9, frozenset({"zh"}), frozenset({"朝阳"}), 0),
             Candidate(2, 4.0, frozenset({"zh"}), frozenset(), 3)]
    assert rank(cands, "zh", "朝阳", None)[0].housekeeper_id == 1
    ranked = rank(cands, "zh", "朝阳", None, preferred=frozenset({2}))
    assert ranked[0].housekeeper_id == 2 and set(ranked[0].reasons) == {
        "rating", "continuity", "language", "district", "fairness", "client_preferred"}


def render(template: str, params: dict, lang: str) -> str:
    return Notifier(Domain.load(), {}, TZ).render(template, params, lang)["text"]


def test_offer_card_shows_our_words_job_card_the_clients(be: Backend) -> None:
    cid = client(be, "m-cards", items=[{"kind": "pet", "code": "cat", "text": CAT_WORDS},
                                       {"kind": "product_avoid", "code": "no_disinfectant", "text": "千万别用消毒水"},
                                       {"kind": "at_home", "code": "elderly_at_home", "text": None},
                                       {"kind": "habit", "text": "孩子九点前在睡觉"}])
    b = book(be, cid, notes=VISIT_NOTES)
    with be.db.uow() as s:
        offer = s.scalar(select(Offer).where(Offer.booking_id == b["id"]))
        rows = [n for n in s.scalars(select(Notification).where(Notification.person_kind == "housekeeper",
                                                                Notification.person_id == offer.housekeeper_id))]
        card = next(n for n in rows if n.template == "offer_new" and n.params["booking_id"] == b["id"])
        params = dict(card.params)
    assert params["profile_codes"] == ["cat", "no_disinfectant", "elderly_at_home"]
    zh = render("offer_new", params, "zh")
    assert "有猫、不用消毒水、家有老人" in zh
    assert "豆豆" not in zh and "千万" not in zh and "九点" not in zh and "梯子" not in zh
    assert "a cat, no disinfectant, elderly at home" in render("offer_new", params, "en")
    assert "有貓" in render("offer_new", params, "zh-Hant")

    be.accept_offer(offer.housekeeper_id, offer.id)
    job = next(n for n in be.pull("housekeeper", offer.housekeeper_id) if n["template"] == "job_confirmed")
    assert job["params"]["standing_notes"] == [{"code": "cat", "text": CAT_WORDS},
                                               {"code": "no_disinfectant", "text": "千万别用消毒水"},
                                               {"code": "elderly_at_home", "text": None},
                                               {"code": None, "text": "孩子九点前在睡觉"}]
    text = render("job_confirmed", job["params"], "zh")
    assert CAT_WORDS in text and "千万别用消毒水" in text and "孩子九点前在睡觉" in text and "家有老人" in text
    assert VISIT_NOTES in text and "朝阳区建国路88号" in text
    assert "Client's standing notes: a cat (“" in render("job_confirmed", job["params"], "en")


def test_cards_without_notes_say_nothing_extra(be: Backend) -> None:
    b = book(be, client(be, "m-bare"))
    with be.db.uow() as s:
        offer = s.scalar(select(Offer).where(Offer.booking_id == b["id"]))
    card = next(n for n in be.pull("housekeeper", offer.housekeeper_id) if n["template"] == "offer_new")
    assert card["params"]["profile_codes"] == []
    assert render("offer_new", card["params"], "zh").endswith("分钟内回复。")
    be.accept_offer(offer.housekeeper_id, offer.id)
    job = next(n for n in be.pull("housekeeper", offer.housekeeper_id) if n["template"] == "job_confirmed")
    assert render("job_confirmed", job["params"], "zh").endswith("。") and "档案" not in render(
        "job_confirmed", job["params"], "zh")


def test_the_job_card_says_how_to_address_the_client(be: Backend) -> None:
    cid = client(be, "m-naming")
    be.set_address_as(cid, "陈老师")
    b = book(be, cid)
    with be.db.uow() as s:
        offer = s.scalar(select(Offer).where(Offer.booking_id == b["id"]))
    card = next(n for n in be.pull("housekeeper", offer.housekeeper_id) if n["template"] == "offer_new")
    assert "陈老师" not in render("offer_new", card["params"], "zh")  # only once she has the job
    be.accept_offer(offer.housekeeper_id, offer.id)
    job = next(n for n in be.pull("housekeeper", offer.housekeeper_id) if n["template"] == "job_confirmed")
    assert "称呼客户：陈老师" in render("job_confirmed", job["params"], "zh")
    assert "Address the client as: 陈老师" in render("job_confirmed", job["params"], "en")
