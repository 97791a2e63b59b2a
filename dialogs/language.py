"""Sticky language: which language a conversation continues in after one more message (issue 10).

The language changes on an explicit request (/lang, "please speak English", "说中文", "講中文") or on a
full sentence in the other language; never on "ok", "thanks", digits, an address, a name, a phone
number or a service name. A full sentence (the thresholds live in dialogs/domain.d/language.yml,
``language_policy``):
- English: at least ``min_english_words`` Latin words outside the message's entities (an address, a
  service, a time), one of them a common verb, pronoun or question word (``english_sentence_words``);
- Chinese: at least ``min_cjk_chars`` Chinese characters outside the message's entities.
Courtesies (``never_switch_intents``: thanks, ok, yes/no, bye) never switch, and neither does a typed
answer to a free-text question (an address, a name, notes): it is content, not a choice of language.
The script (Simplified / Traditional) follows any Chinese message whose characters decide it (處, 訴
vs 处, 诉) once the conversation is in Chinese; shared characters (好的, 明天) decide nothing.
The first message opens a conversation in its language unless it is a bare courtesy ("ok"); a greeting
counts ("hi" as the first message is answered in English).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dialogs.nlu.normalize import chinese_script, normalize

TRADITIONAL = "zh-Hant"
LANGUAGES = ("zh", TRADITIONAL, "en")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_LANG_COMMAND = re.compile(r"^/lang(?:\s+(?P<code>[\w-]{1,10}))?\s*$", re.I)
_CODES = {"zh": "zh", "cn": "zh", "zh-hans": "zh", "zh-cn": "zh", "zh-hant": TRADITIONAL, "zh-tw": TRADITIONAL,
          "zh-hk": TRADITIONAL, "hant": TRADITIONAL, "tw": TRADITIONAL, "hk": TRADITIONAL, "en": "en",
          "english": "en"}


def lang_command(text: str) -> tuple[bool, str | None]:
    """"/lang" (True, None), "/lang en" (True, "en"), anything else (False, None)."""
    m = _LANG_COMMAND.match(text.strip())
    if not m:
        return False, None
    return True, _CODES.get((m["code"] or "").lower()) if m["code"] else None


@dataclass
class LanguagePolicy:
    min_english_words: int = 3
    min_cjk_chars: int = 4
    english_sentence_words: frozenset[str] = frozenset()
    never_switch_intents: frozenset[str] = frozenset()
    requests: dict[str, tuple[str, ...]] = field(default_factory=dict)
    negations: tuple[str, ...] = ()
    free_text_steps: dict[str, frozenset[str]] = field(default_factory=dict)
    slot_specs: dict[str, Any] = field(default_factory=dict)
    about_staff: tuple[str, ...] = ()  # "有会说英语的阿姨吗": a housekeeper's language, not ours

    @classmethod
    def from_domain(cls, raw: dict[str, Any]) -> LanguagePolicy:
        cfg = raw.get("language_policy") or {}
        requests = {lang: tuple(sorted((normalize(str(w)).text.strip() for w in words), key=len, reverse=True))
                    for lang, words in (cfg.get("requests") or {}).items() if lang in LANGUAGES}
        return cls(int(cfg.get("min_english_words", 3)), int(cfg.get("min_cjk_chars", 4)),
                   frozenset(str(w).lower() for w in cfg.get("english_sentence_words") or ()),
                   frozenset(cfg.get("never_switch_intents") or ()), requests,
                   tuple(normalize(str(w)).text.strip() for w in cfg.get("negations") or ()),
                   {k: frozenset(map(str, v or ())) for k, v in (cfg.get("free_text_steps") or {}).items()},
                   dict(raw.get("slots") or {}),
                   tuple(normalize(str(w)).text.strip() for w in cfg.get("about_staff") or ()))

    def free_text_answer(self, state: dict[str, Any]) -> bool:
        """Whether a typed message answers an open free-text question: the form asks a slot filled from
        the text (an address, a name, notes), or a change asks its new address or notes."""
        slots = state["slots"]
        if any(slots.get(k) in v for k, v in self.free_text_steps.items()):
            return True
        asked = slots.get("requested_slot") if state.get("active_loop") else None
        mappings = (self.slot_specs.get(asked) or {}).get("mappings") or () if asked else ()
        return any(m.get("type") == "from_text" for m in mappings)

    def requested(self, text: str) -> str | None:
        """The language an explicit request names ("please speak English" → en, "講中文" → zh-Hant,
        "说中文" → zh), else None. Chinese asked for in Traditional characters means Traditional."""
        said = normalize(text).text
        if any(w and w in said for w in self.about_staff):
            return None  # a wish about who comes (an English-speaking nanny), answered as such
        for lang in ("en", TRADITIONAL, "zh"):
            at = next((said.find(w) for w in self.requests.get(lang, ()) if w and w in said), -1)
            if at < 0:
                continue
            if any(said[max(0, at - len(n) - 1):at].rstrip().endswith(n) for n in self.negations):
                # "别说英文了", "don't speak English": the other one (which Chinese script is then unclear)
                lang = {"en": "zh", "zh": "en"}.get(lang, "")
                if not lang:
                    return None
            if lang == "zh" and chinese_script(text) == TRADITIONAL:
                return TRADITIONAL
            return lang
        return None

    def follow(self, current: str | None, text: str, parse: dict[str, Any], free_text_answer: bool,
               opening: bool) -> str | None:
        """The conversation's language after ``text`` (``parse``: the NLU's reading of it), given the
        ``current`` one. ``free_text_answer``: the message answers a free-text question (address, name,
        notes); ``opening``: no message came before in this conversation."""
        said = parse.get("language")
        intent = (parse.get("intent") or {}).get("name")
        if said not in LANGUAGES or free_text_answer:
            return current
        if said != "en" and current in ("zh", TRADITIONAL):  # Chinese already: only the script may change
            script = chinese_script(text)
            return script if script is not None else current
        if said == current:
            return current
        if opening and (intent == "greet" or intent not in self.never_switch_intents):
            return said  # the first message decides ("book a cleaning tomorrow" opens in English)
        if intent in self.never_switch_intents:
            return current
        rest = _outside_entities(text, parse.get("entities") or ())
        if said == "en":
            words = _WORD.findall(normalize(rest).text)
            full = len(words) >= self.min_english_words and any(w in self.english_sentence_words for w in words)
        else:
            full = sum(1 for c in normalize(rest).text if "\u4e00" <= c <= "\u9fff") >= self.min_cjk_chars
        return said if full else current


def _outside_entities(text: str, entities: Any) -> str:
    """The message without its entities' spans (an address, a service, a time are not sentences)."""
    keep = list(text)
    for e in entities:
        start, end = e.get("start"), e.get("end")
        if isinstance(start, int) and isinstance(end, int):
            keep[start:end] = [" "] * (end - start)
    return "".join(keep)
