"""Regular expressions for the pieces of a time expression, over normalised (Simplified, lower-case,
half-width) text. Each piece is found on its own; ``timeparse`` joins neighbours and resolves them.
"""

from __future__ import annotations

import re

# Digits are anchored at the start of their run: 125点 is no clock (not 25点, not 5点).
ZH_H = r"(?:(?<!\d)\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
ZH_M = r"(?:\d{1,2}|[零〇一二三四五六七八九十]{1,4})"
WEEKDAY_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
              "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
WEEKDAY_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MONTHS_EN = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
             "oct": 10, "nov": 11, "dec": 12}

# Parts of the day: (start hour, end hour, how a bare clock hour inside it shifts).
POD = {
    "凌晨": (0, 6, "am"), "清晨": (6, 9, "am"), "早晨": (6, 9, "am"), "早上": (6, 9, "am"),
    "一早": (6, 9, "am"), "大早": (6, 9, "am"), "早": (6, 9, "am"), "上午": (8, 12, "am"),
    "中午": (11, 14, "noon"), "午后": (12, 18, "pm"), "下午": (12, 18, "pm"), "傍晚": (17, 19, "pm"),
    "晚上": (18, 22, "pm"), "晚间": (18, 22, "pm"), "夜里": (18, 22, "pm"), "夜晚": (18, 22, "pm"),
    "夜间": (18, 22, "pm"), "晚": (18, 22, "pm"), "夜": (18, 22, "pm"), "半夜": (22, 24, "pm"),
    "白天": (8, 18, None),
    "early morning": (6, 9, "am"), "morning": (8, 12, "am"), "am": (8, 12, "am"),
    "noon": (12, 12, "noon"), "midday": (12, 12, "noon"), "lunchtime": (11, 14, "noon"),
    "lunch time": (11, 14, "noon"), "afternoon": (12, 18, "pm"), "pm": (12, 18, "pm"),
    "evening": (18, 22, "pm"), "night": (18, 22, "pm"), "tonight": (18, 22, "pm"),
}

_ZH_POD = "凌晨|清晨|早晨|早上|一早|大早|上午|中午|午后|下午|傍晚|晚上|晚间|夜里|夜晚|夜间|半夜|白天"
# Not "a little" (晚一点, 快一点 — but 今晚一点钟 is a clock), and 时 not the start of 时间/时候 (周六 时间 is no
# 6 o'clock).
_ZH_CLOCK = (
    rf"(?!(?<=(?<![今明昨当])[早晚快慢多少大小近远高低稍再推提])[一两]点(?![钟半]))"
    rf"(?P<@h>{ZH_H})\s*(?:点钟|点|时(?![间候段])|:)\s*"
    rf"(?:(?P<@half>半)|(?P<@q>一刻|三刻)|(?P<@m>{ZH_M})\s*分?|(?P<@zheng>整))?"
)


def zh_clock(prefix: str) -> str:
    return _ZH_CLOCK.replace("@", prefix)


# Dates in Chinese. 一点/两点 also mean "a little", so bare clocks are filtered in timeparse.
ZH = {
    "fused": re.compile(r"(?P<d>今|明|后)(?P<pod>早|晚|晨|夜)(?!上|晨|饭|餐|点儿)"),
    "relday": re.compile(r"大大后天|大后天|后天|明天|明日|明儿|今天|今日|今儿|当天|本日"),
    "weekday": re.compile(
        r"(?P<pre>下下个?|下个?|这个?|本|上个?|next)?\s?(?:周|星期|礼拜|週)(?P<wd>[一二三四五六日天末1-7])"),
    "ymd": re.compile(
        r"(?:(?P<y>(?<!\d)\d{4}|[零〇一二三四五六七八九]{4})\s*年\s*)?(?P<mo>(?<!\d)\d{1,2}|[一二三四五六七八九十]{1,2})\s*月\s*"
        r"(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})\s*(?:日|号)?(?![\d零一二三四五六七八九十]|点|时|:)"),
    "iso": re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<mo>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)"),
    "md": re.compile(r"(?<![\d/.])(?P<mo>\d{1,2})/(?P<d>\d{1,2})(?![\d/])"),
    "dom": re.compile(
        r"(?P<pre>下个?月|这个?月|本月)?(?<![路街道巷弄村区栋幢座楼室层#\d])(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})"
        r"\s*(?:号|日)(?![楼院线门栋座室房层])"),
    "in_days": re.compile(rf"(?P<n>{ZH_H}|半)\s*(?:天|日)(?:之后|以后|后)|过\s*(?P<n2>{ZH_H})\s*天"),
    "in_hours": re.compile(rf"(?P<n>{ZH_H}|半)\s*(?:个)?\s*(?:小时|钟头)(?:之后|以后|后)"),
    # 早上好 / 晚上好 at the end of a clause greet and name no time; 上午好吗 proposes one
    "pod": re.compile(rf"(?:{_ZH_POD})(?!好(?:$|[\s,，。.!！~啊呀]))"),
    "range": re.compile(
        rf"(?P<ah>{ZH_H})\s*(?:(?:点钟|点|时|:)\s*(?:(?P<ahalf>半)|(?P<am>{ZH_M})\s*分?)?)?\s*"
        rf"(?:到|至|-|~|—|–)\s*{zh_clock('b')}"),
    "clock": re.compile(zh_clock("")),
}

_WD_EN = (r"(?P<wd>mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:r|rs|rsday)?|fri(?:day)?|"
          r"sat(?:urday)?|sun(?:day)?)")
_MON_EN = (r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_CLOCK_EN = r"(?P<@h>\d{1,2})(?::(?P<@m>\d{2}))?\s*(?P<@ap>a\.?m\.?|p\.?m\.?|o'?clock)?"

EN = {
    "relday": re.compile(
        r"\b(?:(?:the\s+)?day\s+after\s+(?:tomorrow|tmrw?)|tomorrow|tomorow|tommorow|tommorrow|tmrw?|today|"
        r"tonight|tonite|2day|2moro|2morrow)\b"),
    "weekday": re.compile(rf"\b(?:(?P<pre>this\s+coming|this|next|coming)\s+)?{_WD_EN}\b"),
    "weekend": re.compile(r"\b(?:(?P<pre>this|next|coming)\s+)?weekend\b"),
    "mdy": re.compile(rf"\b{_MON_EN}\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s*(?P<y>\d{{4}})(?!\d))?"),
    "dmy": re.compile(
        rf"\b(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MON_EN}(?:\s*(?P<y>\d{{4}})(?!\d))?"),
    "ordinal": re.compile(r"\bthe\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b"),
    "in_days": re.compile(r"\bin\s+(?P<n>\d{1,4}|a|one|two|three|four|five|six|seven)\s+days?\b"),
    "in_hours": re.compile(r"\bin\s+(?P<n>\d{1,4}|an|one|two|three|half\s+an)\s+hours?\b"),
    # not "good morning" / "good night": a greeting names no time
    "pod": re.compile(r"(?<!good )\b(?:(?:this|in\s+the)\s+)?(?P<p>early\s+morning|morning|noon|midday|lunch\s*time|"
                      r"afternoon|evening|night)\b"),
    "range": re.compile(
        r"\b(?:from\s+|between\s+)?" + _CLOCK_EN.replace("@", "a") + r"\s*(?:-|–|to|till|until|and)\s*"
        + _CLOCK_EN.replace("@", "b") + r"(?!\s*(?:hours?|hrs?|h\b|days?|sqm|m2|people|persons?|kids?|rooms?))"),
    "clock": re.compile(r"(?:\b(?P<at>at|@)\s*)?\b" + _CLOCK_EN.replace("@", "") + r"(?![\d.])"),
    "noon": re.compile(r"\bmidnight\b"),
}
