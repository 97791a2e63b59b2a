"""Text normalisation that keeps a map back to the original characters.

Entities must report ``start``/``end`` in the text the client sent, so every step here works
character by character and records, for each output character, the index of its source.
Steps: NFKC (full-width → half-width, ㎡ → m2), lower case, Traditional → Simplified (OpenCC's
character table, one character to one), a few emoji to words, control characters and other
emoji dropped, runs of white space folded into one space.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

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
    table: dict[str, str] = {}
    pkg = resources.files("opencc") / "dictionary"
    # Variant tables first (裡 → 裏), then Traditional → Simplified (裏 → 里).
    for name in ("TWVariantsRev.txt", "HKVariantsRev.txt", "TSCharacters.txt"):
        for line in (pkg / name).read_text(encoding="utf-8").splitlines():
            src, _, dst = line.partition("\t")
            target = dst.split(" ")[0] if dst else ""
            if len(src) == 1 and len(target) == 1:
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


def chinese_script(text: str) -> str | None:
    """"zh-Hant" when the text has more Traditional-only characters (處, 訴) than Simplified-only
    ones (处, 诉), "zh" when fewer, None when it has neither (好的, 明天): most characters are
    shared, so a short reply says nothing about the writer's script and should not switch it."""
    trad_only, simp_only = _scripts()
    trad = sum(1 for c in text if c in trad_only)
    simp = sum(1 for c in text if c in simp_only)
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


def normalize(original: str) -> Normalized:
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(original):
        for p in _char(ch):
            if p.isspace():
                if not out or out[-1] == " ":
                    continue
                p = " "
            out.append(p)
            idx.append(i)
    while out and out[-1] == " ":
        out.pop()
        idx.pop()
    return Normalized(original, "".join(out), tuple(idx))
