"""Text normalisation that keeps a map back to the original characters.

Entities must report ``start``/``end`` in the text the client sent, so every step here works
character by character and records, for each output character, the index of its source.
Steps: Cantonese words to Mandarin (dialogs/nlu/cantonese.py: 聽日 → 明天, 唔 → 不; matched on the
original characters, before 係 becomes the Mandarin 系), NFKC (full-width → half-width, ㎡ → m2),
lower case, Traditional → Simplified (OpenCC's character table, one character to one), a few emoji
to words, control characters and other emoji dropped, runs of white space folded into one space.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from dialogs.nlu import cantonese

# Emoji that carry intent get a word; the rest are dropped.
EMOJI_WORDS = {
    "👍": " 好 ", "👌": " 好 ", "🙏": " 谢谢 ", "❤": " 喜欢 ", "😊": " 开心 ", "🙂": " 开心 ",
    "😄": " 开心 ", "😀": " 开心 ", "😁": " 开心 ", "🥰": " 喜欢 ", "😍": " 喜欢 ", "🌹": " 谢谢 ",
    "😡": " 生气 ", "😠": " 生气 ", "🤬": " 生气 ", "👎": " 差 ", "😤": " 生气 ", "💢": " 生气 ",
    "😭": " 难过 ", "😢": " 难过 ", "🆘": " 救命 ", "🔥": " 火 ", "🚑": " 急救 ", "👋": " 你好 ",
    "⭐": " 星 ", "🌟": " 星 ",
}


@lru_cache(maxsize=1)
def _trad_to_simp() -> dict[str, str]:
    pkg = resources.files("opencc") / "dictionary"

    def pairs(name: str) -> list[tuple[str, str]]:
        out = []
        for line in (pkg / name).read_text(encoding="utf-8").splitlines():
            src, _, dst = line.partition("\t")
            target = dst.split(" ")[0] if dst else ""
            if len(src) == 1 and len(target) == 1:
                out.append((src, target))
        return out

    table = dict(pairs("TSCharacters.txt"))
    simplified = set(table.values())
    # Regional variants to the standard form, then to Simplified (裡 → 裏 → 里). The variant tables also list
    # characters that are standard Simplified (么 → 幺, 吃 → 喫, 才 → 纔, 台 → 臺): those stay as they are.
    for name in ("TWVariantsRev.txt", "HKVariantsRev.txt"):
        for src, target in pairs(name):
            if src not in simplified and src not in table:
                table[src] = table.get(target, target)
    return table


def _one_way(name: str) -> frozenset[str]:
    """Characters that OpenCC table ``name`` always changes: they belong to one script only."""
    pkg = resources.files("opencc") / "dictionary"
    out = set()
    for line in (pkg / name).read_text(encoding="utf-8").splitlines():
        src, _, dst = line.partition("\t")
        if len(src) == 1 and dst and src not in dst.split(" "):
            out.add(src)
    return frozenset(out)


@lru_cache(maxsize=1)
def _scripts() -> tuple[frozenset[str], frozenset[str]]:
    return _one_way("TSCharacters.txt"), _one_way("STCharacters.txt")


def _cantonese_char(text: str, i: int) -> bool:
    """Whether ``text[i]`` is a Cantonese-only character (佢, 嘅); a lone 唔 is also the Mandarin "mm"."""
    c = text[i]
    return c in cantonese.CANTONESE_CHARS and (c != "唔" or cantonese.is_content(text, i + 1))


def chinese_script(text: str) -> str | None:
    """"zh-Hant" when the text has more Traditional-only characters (處, 訴) than Simplified-only
    ones (处, 诉), "zh" when fewer, None when it has neither (好的, 明天): most characters are
    shared, so a short reply says nothing about the writer's script and should not switch it.
    Cantonese characters (佢, 冇, 嘅) tip a message without Simplified-only characters to Traditional: a Hong
    Kong writer reads Traditional."""
    trad_only, simp_only = _scripts()
    trad = sum(map(trad_only.__contains__, text))  # counted in C: this runs on every Chinese message
    simp = sum(map(simp_only.__contains__, text))
    if simp == 0 and any(_cantonese_char(text, i) for i in range(len(text))):
        trad += 1  # only a tie-break: Cantonese written in Simplified (佢冇嚟 with 来了) stays Simplified
    return None if trad == simp == 0 else "zh-Hant" if trad > simp else "zh"


@dataclass(frozen=True, slots=True)
class Normalized:
    original: str
    text: str
    index: tuple[int, ...]  # index[i] = position in ``original`` of ``text[i]``

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of ``text`` back to ``original``."""
        if end <= start:
            pos = self.index[start] if start < len(self.index) else len(self.original)
            return pos, pos
        return self.index[start], self.index[end - 1] + 1


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF
        or cp in (0xFE0F, 0x200D, 0x20E3) or 0xE0020 <= cp <= 0xE007F
    )


@lru_cache(maxsize=65536)
def _char(ch: str) -> str:
    """What one input character becomes (may be several characters, or a space to drop)."""
    if ch in EMOJI_WORDS:
        return EMOJI_WORDS[ch]
    if _is_emoji(ch):
        return " "
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") or ch == "\ufffd":
        return " "
    t2s = _trad_to_simp()
    return "".join(t2s.get(c, c) for c in unicodedata.normalize("NFKC", ch).lower())


_CHAR_OF: dict[str, str] = {}


@lru_cache(maxsize=1)
def _cantonese() -> cantonese.Table:
    t2s = _trad_to_simp()
    return cantonese.compile_table(lambda key: "".join(t2s.get(c, c) for c in key))


# ASCII control characters (Cc, white space other than the space among them) become a space, as in _char.
_ASCII_CONTROL = str.maketrans({i: " " for i in (*range(32), 127)})


@lru_cache(maxsize=1)
def _ascii_plain() -> bool:
    """Whether ``normalize`` of ASCII text is just: control characters to spaces, lower case, spaces folded
    (no Cantonese key and no Traditional character is all ASCII): then it needs no loop per character."""
    return (not any(k.isascii() for k in _cantonese().entries)
            and not any(k.isascii() or v.isascii() for k, v in _trad_to_simp().items()))


def _normalize_ascii(original: str) -> Normalized:
    """``normalize`` of an ASCII text when ``_ascii_plain()``: each word keeps its characters' positions,
    the space between two words is the position of the first white space after the first word."""
    mapped = original.translate(_ASCII_CONTROL).lower()
    words = mapped.split()
    idx: list[int] = []
    pos = 0
    for w in words:
        start = mapped.index(w, pos)
        if idx:
            idx.append(pos)
        pos = start + len(w)
        idx.extend(range(start, pos))
    return Normalized(original, " ".join(words), tuple(idx))


def normalize(original: str) -> Normalized:
    if original.isascii() and _ascii_plain():
        return _normalize_ascii(original)  # most English messages: 5–10 times faster
    out: list[str] = []
    idx: list[int] = []
    table = _cantonese()
    starts = table.lengths  # a dict test per character; the table is consulted only where a key starts
    # Keys made of ordinary characters (聽日, 幾多) only where the writing is Cantonese or Traditional: a
    # Simplified Mandarin writer's 听日语 or 边边角角 is Mandarin.
    trad_only = _scripts()[0]
    context = not (cantonese.CANTONESE_CHARS.isdisjoint(original) and trad_only.isdisjoint(original))
    protected = 0  # inside a protected word (關係) up to this index: no Cantonese rewrite
    chars = _CHAR_OF  # a plain dict in front of _char's lru_cache: this runs per character of every message
    i, n = 0, len(original)
    while i < n:
        ch = original[i]
        hit = table.match(original, i, context) if ch in starts and i >= protected else None
        if hit is not None and hit[1]:
            size, words = hit
            # Spread the replacement over the replaced span: first to first, last to last, so an
            # entity on it (聽日 → 明天) covers the client's own characters.
            last = len(words) - 1
            for j, w in enumerate(words):
                out.append(w)
                idx.append(i + (j * (size - 1) // last if last else 0))
            i += size
            continue
        if hit is not None:
            protected = i + hit[0]
        mapped = chars.get(ch)
        if mapped is None:
            mapped = _char(ch)
            if len(chars) < 65536:
                chars[ch] = mapped
        for p in mapped:
            if p.isspace():
                if not out or out[-1] == " ":
                    continue
                p = " "
            out.append(p)
            idx.append(i)
        i += 1
    while out and out[-1] == " ":
        out.pop()
        idx.pop()
    return Normalized(original, "".join(out), tuple(idx))
