"""Several requests in one message (issue 14): "阿姨迟到了一个小时，下次的改到周六吧" is a complaint AND a change.

The message is cut into clauses (punctuation, line breaks, a space between Chinese run-ons, joiners such as
另外/还有/also/btw) and each clause is classified with the same classifier as the whole message. When a clause
confidently asks for something the dialogue can act on and the main intent is something else, the parse
carries it as ``also``: ``{"name": intent, "confidence": p, "text": <the clause in the client's characters>}``;
the engine handles the main intent first and offers the other one afterwards (dialogs/engine.py).

The main intent is the whole message's, except that harm comes before logistics: when the whole message reads
as one clause's request and another clause is a complaint or an emergency, that complaint or emergency is main.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dialogs.nlu.entities import with_placeholders
from dialogs.nlu.normalize import Normalized

# A clause's top intent must be at least this sure to count as a request of its own.
CONFIDENT = 0.45
# A complaint clause counts from this confidence when it names what went wrong (a complaint_category term:
# "late", "打碎"); without one, from SURE_HARM: "跟阿姨说一声" is no complaint, however the classifier leans.
NAMED_HARM = 0.5
# An emergency or an unnamed complaint outranks the whole message's reading only when the clause is this sure
# ("is something stuck?" about a refund is no emergency).
SURE_HARM = 0.9
# At most this many clauses are classified (each is one more classifier call, ~0.2 ms).
MAX_CLAUSES = 4
# Only the opening of a long paste is cut into clauses (the requests of a chat message come first).
SPLIT_CHARS = 600
# A clause with fewer letters, digits or characters than this ("嗯") says nothing on its own.
MIN_CONTENT = 2
# Requests the dialogue can act on.
ACTIONABLE = frozenset({
    "complain", "reschedule_booking", "cancel_booking", "skip_visit", "ask_refund_status", "ask_case_status",
    "book_service", "check_booking", "request_human", "state_preference", "give_feedback", "customize_service",
    "ask_price"})
# A rating or praise beside a request is context, not a second request to offer ("其他还行").
OFFERED = ACTIONABLE - {"give_feedback"}
# The message's own request must be one of these for a second one to be offered: an answer to a form ("Room
# 1203, Building 5") or small talk carries none, and a person asked for hears the rest herself.
MAIN = ACTIONABLE - {"request_human"}
EMERGENCY, COMPLAINT, FEEDBACK, HUMAN = "report_emergency", "complain", "give_feedback", "request_human"
# A complaint is main over these requests; not over a survey's rating, a request for a person or a
# preference, which it belongs to.
LOGISTICS = frozenset({"reschedule_booking", "cancel_booking", "cancel_series", "skip_visit", "ask_refund_status",
                       "book_service", "check_booking", "ask_price", "customize_service"})
# Two readings of one request, not two requests: "不满意" in a complaint is not feedback to offer, "我要投诉，转人工"
# is recorded and then offered to a person, "全部取消" in a series' cancellation is the same cancellation.
FACETS = frozenset(frozenset(p) for p in (
    ("complain", "give_feedback"), ("complain", "ask_case_status"), ("complain", "customize_service"),
    ("customize_service", "state_preference"), ("customize_service", "book_service"),
    ("give_feedback", "customize_service"), ("book_service", "check_booking"), ("cancel_booking", "cancel_series"),
    ("cancel_booking", "skip_visit"),
    # a repeat arrangement named before what is done with it ("每周四那个 这周暂停一次"), hours added to a visit
    ("skip_visit", "book_service"), ("skip_visit", "customize_service"), ("cancel_series", "book_service"),
    ("cancel_series", "customize_service"), ("reschedule_booking", "customize_service"),
    # a broken house rule and "how is this charged?" about a short visit are the complaint itself
    ("complain", "state_preference"), ("complain", "ask_price"),
    # the case or the refund asked about, not another booking question: "has anyone been assigned?"
    ("ask_case_status", "check_booking"), ("ask_refund_status", "check_booking"),
    ("ask_refund_status", "cancel_booking"),
    # the reason for a cancellation or a remark in a rating, not a lasting wish: "my son got fever", "别的没注意"
    ("cancel_booking", "state_preference"), ("skip_visit", "state_preference"), ("give_feedback", "state_preference")))
# Questions count as a second request only when asked: "退款什么时候到账" is, "refund please" in a complaint is
# its remedy and "我预约的是九点" a narrative.
QUESTIONS = frozenset({"check_booking", "ask_price", "ask_refund_status", "ask_case_status"})
_ASKED = re.compile(r"[?？]|吗|呢|么|啥|咋|何时|多少|几|哪|是否|有没有|能不能|可不可以|行不行|查|看看|进度"
                    r"|\b(?:how|what|when|where|which|whether|is|are|can|could|did|does|do|has|have|any|check|status)\b")
FALLBACK = "nlu_fallback"

# Clause boundaries in normalised text (full-width punctuation is half-width there; both kept for safety); a dot
# between digits is a decimal ("3.5 hours"). A space splits Chinese run-ons ("阿姨又迟到了 后天那次改到十点").
_SPLIT = re.compile(r"[,，。!！?？;；]+|\.(?!\d)|(?<=[\u4e00-\u9fff]) +(?=[\u4e00-\u9fff])"
                    r"|\b(?:and also|btw|by the way)\b")
# Joiners open a clause ("，另外…", "also can we…"); inside one they are words ("还有效吧", "换另外一个阿姨").
_JOINER = re.compile(r"(?:还有|另外|顺便|然后|再就是|(?:and also|also|btw|by the way|plus)\b)\s*")


@dataclass(frozen=True)
class Clause:
    start: int  # span in the normalised text
    end: int
    intent: str
    confidence: float
    harm: float = 0.0  # the probability of a complaint or feedback (a remark on the service), for _as_harm


def spans(norm: Normalized) -> list[tuple[int, int]]:
    """[start, end) spans of the clauses of ``norm.text`` (its first ``SPLIT_CHARS``): white space and an
    opening joiner left out, empty clauses dropped."""
    text = norm.text[:SPLIT_CHARS]
    cuts = [(m.start(), m.end()) for m in _SPLIT.finditer(text)]
    if "\n" in norm.original or "\r" in norm.original:
        # Line breaks are a space in normalised text: the original character tells them apart.
        cuts += [(m.start(), m.end()) for m in re.finditer(" ", text)
                 if norm.original[norm.index[m.start()]] in "\r\n"]
    out, pos = [], 0
    for a, b in sorted(cuts):
        if a >= pos:
            out.append((pos, a))
            pos = b
    out.append((pos, len(text)))
    trimmed = []
    for a, b in out:
        while a < b and text[a].isspace():
            a += 1
        m = _JOINER.match(text, a, b)
        if m:
            a = m.end()
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            trimmed.append((a, b))
    return trimmed


def _content(text: str) -> int:
    return sum(map(str.isalnum, text))


def classify(norm: Normalized, found: list[dict[str, Any]], probs: Callable[[str], Sequence[float]],
             intents: list[str]) -> list[Clause]:
    """Each clause's top intent (at most ``MAX_CLAUSES`` clauses with content), entities as placeholders;
    nothing for a message of one clause."""
    parts = [(a, b) for a, b in spans(norm) if _content(norm.text[a:b]) >= MIN_CONTENT]
    if len(parts) < 2:
        return []
    out = []
    harm_at = [i for i, name in enumerate(intents) if name in (COMPLAINT, FEEDBACK)]
    for a, b in parts[:MAX_CLAUSES]:
        inside = [{**e, "start": e["start"] - a, "end": e["end"] - a} for e in found
                  if e["start"] >= a and e["end"] <= b]
        p = probs(with_placeholders(norm.text[a:b], inside))
        p = p.tolist() if hasattr(p, "tolist") else [float(x) for x in p]  # Python floats: cheaper to read
        best = max(range(len(intents)), key=p.__getitem__)
        harm = sum(p[i] for i in harm_at)
        out.append(Clause(a, b, intents[best], p[best], harm))
    return out


def _asked(norm: Normalized, c: Clause) -> bool:
    """Whether the clause is put as a question (a question word, or a question mark right after it)."""
    return bool(_ASKED.search(norm.text[c.start:c.end + 1]))


def _named(norm: Normalized, c: Clause, entities: list[dict[str, Any]]) -> bool:
    """Whether the clause names what went wrong (a complaint_category term inside it)."""
    start, end = norm.span(c.start, c.end)
    return any(e["entity"] == "complaint_category" and start <= e["start"] and e["end"] <= end for e in entities)


def _as_harm(c: Clause, norm: Normalized, entities: list[dict[str, Any]]) -> Clause:
    """A remark naming what went wrong ("the cleaner was late again") beside a request is a complaint, whether
    the classifier leans to a complaint or to feedback (which differ in whether a survey asked)."""
    if c.intent in (COMPLAINT, FEEDBACK) and _named(norm, c, entities):
        return Clause(c.start, c.end, COMPLAINT, max(c.confidence, c.harm), c.harm)
    return c


def _counts(c: Clause, norm: Normalized, entities: list[dict[str, Any]]) -> bool:
    """Whether a clause is sure enough to be a request of its own (harm, or a main intent to outrank)."""
    if c.intent == EMERGENCY:
        return c.confidence >= SURE_HARM
    if c.intent == COMPLAINT:
        return c.confidence >= SURE_HARM or (c.confidence >= NAMED_HARM and _named(norm, c, entities))
    return c.confidence >= CONFIDENT


def _harm(whole: str, clauses: list[Clause]) -> Clause | None:
    """The clause whose harm comes before the whole message's request, if any."""
    read = {c.intent for c in clauses} | {FALLBACK}
    emergency = next((c for c in clauses if c.intent == EMERGENCY), None)
    if emergency is not None:
        return emergency if whole != EMERGENCY else None
    complaint = next((c for c in clauses if c.intent == COMPLAINT), None)
    if complaint is not None and whole in read and (whole in LOGISTICS or whole in (FALLBACK, HUMAN)):
        return complaint
    return None


def annotate(result: dict[str, Any], norm: Normalized, found: list[dict[str, Any]],
             probs: Callable[[str], Sequence[float]], intents: list[str]) -> dict[str, Any]:
    """Add ``also`` (and, for harm said alongside a request, make the harm the main intent) to a parse whose
    intent and entities (spans in the original text) are set; ``found`` are the entities in normalised text."""
    entities = result["entities"]
    clauses = [c for c in (_as_harm(c, norm, entities) for c in classify(norm, found, probs, intents))
               if _counts(c, norm, entities)]
    if not clauses:
        return result
    whole = result["intent"]["name"]
    main = whole
    harm = _harm(whole, clauses)
    if harm is not None:
        main = harm.intent
        promoted = {"name": main, "confidence": round(harm.confidence, 4)}
        result["intent"] = promoted
        result["intent_ranking"] = [promoted, *(r for r in result["intent_ranking"]
                                                if r["name"] not in (main, FALLBACK))][:5]
        result["nlu_whole"] = whole  # what the whole message read as, for the logs
    if main not in MAIN:
        return result  # nothing is offered after an emergency, nor beside a form's answer
    other = next((c for c in clauses if c.intent != main and c.intent in OFFERED
                  and frozenset((main, c.intent)) not in FACETS
                  and (c.intent not in QUESTIONS or _asked(norm, c))), None)
    if other is not None:
        start, end = norm.span(other.start, other.end)
        result["also"] = {"name": other.intent, "confidence": round(other.confidence, 4),
                          "text": norm.original[start:end].strip()}
    return result
