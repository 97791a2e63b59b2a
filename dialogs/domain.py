"""Reading the Rasa 3 domain and rules, and rendering responses in the conversation's language."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from config import yamlfile

_PARAM = re.compile(r"\{(\w+)\}")
HERE = Path(__file__).resolve().parent
TRADITIONAL = "zh-Hant"
# OpenCC's s2t writes the dictionary forms 爲/裏/着, which readers in Taiwan and Hong Kong rarely
# use; s2tw is s2t plus the everyday variants 為/裡/著 (and no Taiwan-only vocabulary, unlike s2twp).
# A deployment picks its variant in config/frontdesk.yaml (`traditional_variant`: s2tw, s2hk, s2t),
# set once at start-up by configure_traditional().
OPENCC_CONFIG = "s2tw"
VARIANTS = ("s2t", "s2tw", "s2hk")
_variant = OPENCC_CONFIG


def configure_traditional(variant: str) -> None:
    """The OpenCC conversion for Traditional replies, for the whole process (one deployment, one variant)."""
    global _variant
    if variant not in VARIANTS:
        raise ValueError(f"traditional_variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
    _variant = variant


def traditional_variant() -> str:
    return _variant


# Params that carry only our own words (a date as we write it, a schedule, a fee, the cities served): in
# a Traditional conversation they are converted with the template. Params that may hold a client's words
# (address, notes, name, a summary) are not listed and stay exactly as given.
OUR_PARAMS = frozenset({"time", "old_time", "new_time", "service", "services", "date", "schedule", "fee", "fee_text",
                        "start", "end", "holidays", "cities", "due", "said_weekday", "date_weekday", "visits",
                        "free_until", "status", "weekday", "period", "badges_text", "verified"})


@lru_cache(maxsize=len(VARIANTS))
def _converter(variant: str):  # type: ignore[no-untyped-def]
    from opencc import OpenCC  # loaded on the first Traditional reply, not at import

    return OpenCC(variant)


def traditional(text: str) -> str:
    """Simplified → Traditional in the configured variant, phrase-aware (头发 → 頭髮, 干净 → 乾淨). Not
    cached: it may be given a client's words, which must not linger in memory."""
    return _converter(_variant).convert(text) if text else text


@lru_cache(maxsize=8192)
def _response_in_traditional(text: str, variant: str) -> str:
    # Our own response templates only (a closed set): each is converted once per process and variant.
    return _converter(variant).convert(text) if text else text


def _ours_in_traditional(text: str) -> str:
    return _response_in_traditional(text, _variant)


def localise(text: str, lang: str) -> str:
    """Our own words (a service's name, a status) for ``lang``: in Traditional characters for zh-Hant."""
    return _ours_in_traditional(text) if lang == TRADITIONAL and text else text


def base_lang(lang: str) -> str:
    """The language whose variants serve ``lang``: zh-Hant is written from the zh texts."""
    return "zh" if lang == TRADITIONAL else lang


@dataclass
class Domain:
    raw: dict[str, Any]
    responses: dict[str, list[dict[str, Any]]]
    slots: dict[str, dict[str, Any]]
    forms: dict[str, list[str]]
    intents: list[str]
    actions: list[str]

    @classmethod
    def load(cls, path: Path = HERE / "domain.yml", extra: Path = HERE / "notifications.yml") -> Domain:
        raw = yamlfile.read(path)
        # One part per capability in domain.d/ (intents, slots, actions, responses …), as Rasa reads a
        # domain directory: merged into the main file.
        for part in sorted((path.parent / "domain.d").glob("*.yml")):
            raw = _merge(raw, yamlfile.read(part) or {})
        responses = dict(raw.get("responses", {}))
        # Notification texts: notifications.yml plus one file per capability in notifications/.
        extras = [extra, *sorted((extra.parent / "notifications").glob("*.yml"))]
        for f in extras:
            if f.exists():
                responses.update((yamlfile.read(f) or {}).get("responses", {}))
        forms = {name: list(spec.get("required_slots", [])) for name, spec in (raw.get("forms") or {}).items()}
        slots = dict(raw.get("slots") or {})
        slots.setdefault("requested_slot", {"type": "text", "mappings": [{"type": "custom"}]})
        raw = {**raw, "slots": slots}
        return cls(raw, responses, slots, forms, list(raw.get("intents", [])), list(raw.get("actions", [])))

    def render(self, name: str, lang: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """A response in ``lang`` with {params} filled in; unknown params are left visible, not crashing.
        ``zh-Hant`` uses a zh-Hant variant if one exists, else the zh one in Traditional characters;
        button payloads are never converted."""
        variations = self.responses.get(name)
        if not variations:
            return None
        chosen = next((v for v in variations if _matches(v, lang)), None) or \
            next((v for v in variations if _matches(v, base_lang(lang))), None) or \
            next((v for v in variations if not v.get("condition")), variations[0])
        # Only our own words are converted, before the params go in: a client's name, words or a
        # reference stay exactly as given, and placeholders ({due_time}) are ASCII, untouched by OpenCC.
        convert = _ours_in_traditional if lang == TRADITIONAL and not _matches(chosen, lang) else str
        if lang == TRADITIONAL:  # params of our own words (dates, schedules, fees) follow the script
            params = {k: traditional(v) if k in OUR_PARAMS and isinstance(v, str) else v for k, v in params.items()}

        def fill(s: str) -> str:
            return _PARAM.sub(lambda m: str(params[m[1]]) if params.get(m[1]) is not None else m[0], s)

        out: dict[str, Any] = {"text": fill(convert(chosen.get("text", "")))}
        if chosen.get("buttons"):
            out["buttons"] = [{"title": fill(convert(b["title"])), "payload": fill(b["payload"])}
                              for b in chosen["buttons"]]
        if chosen.get("custom"):
            out["custom"] = chosen["custom"]  # channel hints, e.g. a "share contact" button on Telegram
        return out

    @staticmethod
    def buttons(buttons: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
        """Buttons an action built (free slots, which booking): their titles in Traditional characters for
        zh-Hant, like a template's; payloads never change. Titles are our words (a service, a time, a
        status); a name in one reads in the client's script too."""
        if lang != TRADITIONAL:
            return buttons
        return [{**b, "title": traditional(str(b.get("title", "")))} for b in buttons]


def _merge(a: Any, b: Any) -> Any:
    """Domain parts: mappings merge key by key, lists append what is new, anything else is replaced."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **{k: _merge(a[k], v) if k in a else v for k, v in b.items()}}
    if isinstance(a, list) and isinstance(b, list):
        return a + [x for x in b if x not in a]
    return b


def _matches(variation: dict[str, Any], lang: str) -> bool:
    conds = variation.get("condition") or []
    return bool(conds) and all(c.get("name") == "language" and c.get("value") == lang for c in conds)


@dataclass
class Rule:
    name: str
    intent: str | None
    loop_condition: str | None = None  # form that must be active
    slot_conditions: dict[str, Any] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    loop_after: str | None = "unchanged"  # form name, None (deactivate) or "unchanged"


def load_rules(path: Path = HERE / "rules.yml") -> tuple[list[Rule], dict[str, str]]:
    """Rules triggered by an intent, and per form the action run when the form completes."""
    raw = yamlfile.read(path) or {}
    listed = list(raw.get("rules", []))
    for part in sorted((path.parent / "rules.d").glob("*.yml")):  # one file per capability
        listed += (yamlfile.read(part) or {}).get("rules", [])
    rules, after_form = [], {}
    for r in listed:
        cond = r.get("condition") or []
        loop = next((c["active_loop"] for c in cond if "active_loop" in c), None)
        slots = {k: v for c in cond if "slot_was_set" in c for d in c["slot_was_set"] for k, v in d.items()}
        steps = r.get("steps") or []
        first = steps[0] if steps else {}
        if "action" in first and first["action"] in ("booking_form",):
            # "form completed → action": the Rasa idiom for what follows a form
            follow = [s["action"] for s in steps[1:] if "action" in s]
            if follow:
                after_form[first["action"]] = follow[0]
            continue
        rule = Rule(r.get("rule", ""), first.get("intent"), loop, slots)
        for s in steps[1:]:
            if "action" in s:
                rule.actions.append(s["action"])
            elif "active_loop" in s:
                rule.loop_after = s["active_loop"]
        rules.append(rule)
    # The first matching rule wins: rules with a condition (a form, a slot) go before those without, so a
    # capability's file can add "in a survey, a number is a score" next to a general rule for numbers.
    rules.sort(key=lambda r: not (r.loop_condition or r.slot_conditions))
    return rules, after_form
