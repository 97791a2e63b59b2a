"""Address spans (Chinese and English) found by the shape of addresses, not by a gazetteer.

An address is a run of components — province/city, district, road and number, compound, building,
unit, floor, room — with at least one component that only addresses have. Words that lead into
an address (我家在, 地址是, 上门到 …) are trimmed off the front.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from backend.domain.places import CITIES, DISTRICTS, parse
from dialogs.nlu.numerals import finditer

_H = r"[\u4e00-\u9fff]"
# Every repetition is bounded and numbers start where their run starts, so that no pattern rescans a
# long run of digits or Chinese characters from each position in it (quadratic on hostile input).
_N = r"(?:(?<!\d)\d{1,6}|[一二三四五六七八九十百零〇]{1,6}|[a-z])"
_ZH_PARTS = [
    rf"{_H}{{2,6}}?(?:省|自治区)",
    rf"{_H}{{1,6}}?市(?!场|面|内)",
    rf"{_H}{{1,5}}?(?:区|县|新区)(?!域|别|分|间)",
    rf"{_H}{{1,6}}?(?:镇|乡|街道)",
    rf"[\u4e00-\u9fff\w]{{1,10}}?(?:大街|大道|路|街|巷|胡同|弄)(?:{_N}\s*(?:号院|号|弄|巷))?",
    rf"[\u4e00-\u9fff\w]{{1,10}}?(?:小区|花园|家园|新村|公寓|大厦|广场|苑|园|府|庭|湾|公馆|名邸|国际|城|村|里|院)"
    rf"(?:{_N}\s*期)?",
    rf"{_N}\s*(?:号楼|栋|幢|座|号院|单元|楼|层|室|号|户)",
    r"(?<!\d)\d{3,4}(?!\d)(?:室|房)?",
]
_ZH_STRONG = re.compile(
    r"(?:区|县|路|街|巷|胡同|弄|小区|花园|家园|新村|公寓|大厦|苑|号楼|栋|幢|单元|室|号院)")
_ZH_ADDR = re.compile(r"(?:(?:" + "|".join(_ZH_PARTS) + r")[\s,，-]{0,3}){2,12}")
_LEAD = re.compile(
    r"(?:(?:我|我们|咱|咱们)?的?(?:家|住址|地址|位置|房子|新房|老房子|公司)?的?地?址?"
    r"(?:是|在|住在|位于|改成|改为|换成|换到|搬到|定位)了?[:：\s]*"
    r"|(?:我|我们|咱)?(?:家|住址|地址|位置)[:：\s]*"
    r"|(?:请|麻烦)?(?:你们)?(?:上门|过来|来|到|去)(?:到)?"
    r"|住)+")
_HAS_DIGIT = re.compile(r"\d")
# The English names of the tabled districts and cities, so "88 Jianguo Road, Chaoyang, Beijing" is whole.
_EN_DISTRICTS = "|".join(sorted({row.split(" ", 1)[1].lower().replace("'", "'?") for rows in DISTRICTS.values()
                                 for row in rows.split(",")}, key=len, reverse=True))
_EN_CITIES = "|".join(sorted({en.lower().replace("'", "'?") for _, en, _ in CITIES}, key=len, reverse=True))
_EN_ROAD = r"(?:road|rd|street|st|avenue|ave|lane|ln|boulevard|blvd|drive|dr|highway|hwy)\.?"
_W = r"[a-z]{1,20}"
_EN_ADDR = re.compile(
    rf"(?:(?:room|rm|flat|apt|apartment|unit|suite)\s{{0,2}}#?\s{{0,2}}\w{{1,8}}[\s,]{{0,3}})?"
    rf"(?:(?:building|bldg|block|tower)\s{{0,2}}#?\s{{0,2}}\w{{1,8}}[\s,]{{0,3}})?"
    rf"(?:no\.?\s{{0,2}})?(?<!\d)\d{{1,6}}[a-z]?\s{{1,3}}(?:{_W}\s{{1,3}}){{1,3}}{_EN_ROAD}"
    rf"(?:[\s,]{{1,3}}(?:{_W}\s{{1,3}}(?:district|new\s{{1,3}}area|county)|{_EN_DISTRICTS})(?![a-z]))?"
    rf"(?:[\s,]{{1,3}}(?:{_W}\s{{1,3}}city|{_EN_CITIES})(?![a-z]))?(?:[\s,]{{1,3}}\d{{6}}(?!\d))?"
    rf"|(?:room|rm|flat|apt|apartment|unit|suite)\s{{0,2}}#?\s{{0,2}}\d{{1,6}}\w{{0,4}}"
    rf"(?:[\s,]{{1,3}}(?:building|bldg|block|tower)\s{{0,2}}#?\s{{0,2}}\w{{1,8}})?"
    rf"(?:[\s,]{{1,3}}{_W}(?:\s{{1,3}}{_W}){{0,2}}\s{{1,3}}"
    rf"(?:garden|gardens|estate|residence|court|plaza|apartments|compound))?")


def addresses(text: str, taken: list[tuple[int, int]] = ()) -> Iterator[dict[str, Any]]:
    """``taken`` are spans other entities (times, phones) already own; an address starts after them."""
    zh = _ZH_STRONG.search(text) is not None  # cheap pre-checks: the full patterns backtrack on long text
    en = _HAS_DIGIT.search(text) is not None
    for m in finditer(_ZH_ADDR, text) if zh else ():
        start, end = m.start(), m.end()
        for a, b in taken:
            if a < end and b > start:
                start = max(start, b) if a <= start + 1 or b < end else start
                end = min(end, a) if a > start else end
        while end > start and text[end - 1] in " ,，-":
            end -= 1
        while start < end and text[start] in " ,，-":
            start += 1
        lead = _LEAD.match(text, start, end)
        if lead and lead.end() > start and _ZH_STRONG.search(text, lead.end(), end):
            start = lead.end()
        if _ZH_STRONG.search(text, start, end) and end - start >= 4:
            yield {"entity": "address", "start": start, "end": end, "value": text[start:end]}
    for m in finditer(_EN_ADDR, text) if en else ():
        if m.end() - m.start() >= 6:
            yield {"entity": "address", "start": m.start(), "end": m.end(), "value": m[0].strip(" ,")}


def parse_address(text: str) -> dict[str, str | None]:
    """The client's whole answer as ``full`` with its parts in canonical Chinese names:
    {province, city, district, street, full} (backend/domain/places.py; None for a part not given)."""
    return parse(text).as_dict()


def whole_answer(text: str, entities: list[dict[str, Any]]) -> str | None:
    """The client's whole address answer: from the first address span to the end of the message (or to
    the phone or time that follows it), so nothing the extractor did not recognise is lost
    ("…88 Jianguo Road, Chaoyang District, Beijing", "…501 进门左手"). None when no address was found."""
    spans = [e for e in entities if e.get("entity") == "address" and isinstance(e.get("start"), int)]
    if not spans:
        return None
    start, end = spans[0]["start"], max(e["end"] for e in spans)
    after = [e["start"] for e in entities if e.get("entity") in ("phone", "time") and e.get("start", -1) >= end]
    end = min(after) if after else len(text)
    answer = _PHONE_WORD.sub("", text[start:end].strip(" ,，.。;；、\n"))
    return answer.strip(" ,，.。;；、\n") or None


_PHONE_WORD = re.compile(r"[\s,，]*(?:电话|手机号?|联系电话|联系方式|tel|phone|mobile)[\s:：]*$", re.IGNORECASE)
