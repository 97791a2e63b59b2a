"""Cantonese words and Hong Kong terms rewritten as Mandarin, inside normalisation.

Hong Kong clients write Cantonese ("想搵人聽朝嚟打掃"); the classifier, the time parser and the
entity extractors read Mandarin. ``normalize`` asks :meth:`Table.match` at every position of the
client's *original* text (before Traditional → Simplified, which would turn 係 into the Mandarin
系 of 系统), takes the longest key that starts there and emits its Mandarin replacement.

Table values:
- a string: the Mandarin replacement;
- ``KEEP`` (""): a protected word, normalised as usual and never rewritten (關係 keeps its 係);
- a pair ``(before_content, otherwise)``: the first when the next character is content (a letter,
  digit or ideograph other than a sentence particle), else the second; ``None`` means "no
  rewrite here". 唔好 before a verb is 不要 ("唔好郁"), at the end of a clause 不好 ("服務唔好");
  唔 alone before a word is 不, while a lone 唔 is the Mandarin "mm" and stays.

Every key is also looked up in its Simplified spelling (听日, 揾, 冇问题) for people who write
Cantonese in Simplified characters, except keys with 係 (its Simplified form 系 is Mandarin) and
those in ``TRADITIONAL_ONLY`` whose Simplified spelling is an ordinary Mandarin word (返工: redo).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KEEP = ""
Value = str | tuple[str | None, str | None]

# Sentence-final particles: after them a clause has ended, so 唔好 there is "not good".
PARTICLES = frozenset("啦喇嚹囉啰喎呀啊吖㗎嘛咩呢吧的了嘅架噃啩添咯喔哦噢嗎吗咧哇啫嘞𡃉呵")

# Characters only Cantonese writes: evidence of a Hong Kong (Traditional) writer.
CANTONESE_CHARS = frozenset("唔嘅咗冇嚟喺佢啲哋嘢攞睇搵揾啱嗰咁乜諗瞓嘥嬲咩㗎")

TABLE: dict[str, Value] = {
    # Thanks, please, politeness.
    "唔該": ("麻烦", "谢谢"), "唔該晒": "谢谢", "唔該哂": "谢谢", "唔該你": "麻烦你", "多謝": "谢谢",
    "多謝晒": "谢谢", "多謝哂": "谢谢", "唔使客氣": "不客气", "唔好意思": "不好意思", "冇問題": "没问题",
    "冇所謂": "无所谓", "冇事": "没事", "冇嘢": "没事", "唔緊要": "没关系",
    # Negation and questions built with 唔 / 冇.
    "唔": ("不", None), "唔好": ("不要", "不好"), "唔好的": "嗯好的", "唔使": "不用", "唔係": "不是",
    "唔知": "不知道", "唔識": "不会", "唔記得": "忘了", "唔記得咗": "忘了", "唔得閒": "没空", "唔夠鐘": "时间不够",
    "唔見咗": "不见了", "唔食": "不吃", "冇": "没有", "冇人": "没有人", "冇得": "没法", "冇空": "没空",
    "有冇": "有没有", "有冇得": "能不能", "冇關係": "没关系", "冇收到": "没有收到",
    "可唔可以": "可不可以", "得唔得": "行不行", "使唔使": "要不要", "做唔做到": "能不能做",
    "識唔識": "会不会", "係咪": "是不是", "係唔係": "是不是", "好唔好": "好不好", "要唔要": "要不要",
    "搞掂": "搞定", "搞唔掂": "搞不定", "做唔切": "来不及做",
    # 係 is 是 except in the Mandarin words that write 系 as 係.
    "係": "是", "即係": "就是", "都係": "都是", "仲係": "还是", "係呀": "是的", "係啊": "是的",
    "關係": KEEP, "聯係": KEEP, "係數": KEEP, "係統": KEEP, "體係": KEEP, "維係": KEEP, "派係": KEEP,
    "直係": KEEP, "係列": KEEP, "沒關係": KEEP,
    # Pronouns, particles, function words.
    "佢": "他", "佢哋": "他们", "我哋": "我们", "你哋": "你们", "哋": "们", "嘅": "的", "咗": "了",
    "咗未": "了没有", "嚟": "来", "就嚟": "就来", "返嚟": "回来", "返去": "回去", "喺": "在", "俾": "给",
    "畀": "给", "嘢": "东西", "乜": "什么", "乜嘢": "什么", "咩嘢": "什么", "咩": ("什么", "吗"),
    "做咩": "干什么", "為咩": "为什么", "有咩": "有什么", "咩事": "什么事", "喇": "了", "㗎": "的",
    "𡃉": "的", "喎": "哦", "噃": "哦", "吖": "啊", "啩": "吧", "啫": "而已",
    "咁": "这么", "咁樣": "这样", "咁就": "那就", "咁點": "那怎么", "噉": "这样", "噉樣": "这样",
    "嗰": "那", "嗰個": "那个", "嗰度": "那里", "嗰日": "那天", "嗰陣": "那时", "嗰啲": "那些",
    "嗰邊": "那边", "呢個": "这个", "呢度": "这里", "呢啲": "这些", "呢排": "最近", "呢次": "这次",
    "呢位": "这位", "呢間": "这家", "呢邊": "这边", "今個": "这个",
    "點樣": "怎样", "點解": "为什么", "點算": "怎么办", "點搞": "怎么办", "點計": "怎么算",
    "點計錢": "怎么算钱", "點收費": "怎么收费", "點收錢": "怎么收钱", "點俾錢": "怎么付钱",
    "點解決": KEEP, "點解釋": KEEP, "點解析": KEEP, "點解答": KEEP, "點計劃": KEEP, "點計較": KEEP,
    "幾時": "什么时候", "幾多": "多少", "幾多錢": "多少钱", "幾錢": "多少钱", "幾耐": "多久",
    "邊個": "哪个", "邊度": "哪里", "邊日": "哪天", "邊位": "哪位", "邊間": "哪家", "邊區": "哪个区",
    "邊個時間": "哪个时间", "邊邊": "哪边", "邊度過": KEEP, "邊度假": KEEP, "邊日落": KEEP,
    "仲未": "还没", "仲有": "还有", "仲要": "还要", "仲喺": "还在", "仲唔": "还不", "仲冇": "还没有",
    "啱": "对", "啱啱": "刚刚", "啱啱好": "刚好", "啱先": "刚才", "頭先": "刚才", "啱晒": "正好",
    "而家": "现在", "依家": "现在", "好耐": "很久", "好耐心": KEEP, "好耐用": KEEP,
    # A little more / less: adjective + 啲 or 少少.
    "啲": "些", "少少": "一点", "有啲": "有点", "一啲": "一些", "遲啲": "晚一点", "遲少少": "晚一点",
    "晏啲": "晚一点", "晏少少": "晚一点", "早啲": "早点", "早少少": "早一点", "快啲": "快点",
    "快少少": "快一点", "慢啲": "慢点", "平啲": "便宜点", "貴啲": "贵点", "多啲": "多点", "少啲": "少点",
    "大啲": "大点", "細啲": "小点", "好啲": "好点", "近啲": "近点", "耐啲": "久点", "長啲": "长点",
    "短啲": "短点", "乾淨啲": "干净点", "小心啲": "小心点", "認真啲": "认真点", "輕力啲": "轻点",
    "好晏": "很晚", "咁晏": "这么晚", "太晏": "太晚",
    # Days and times.
    "聽日": "明天", "聽朝": "明早", "聽朝早": "明天早上", "聽晚": "明晚", "今朝": "今早",
    "今朝早": "今天早上", "朝早": "早上", "朝頭早": "早上", "琴日": "昨天", "尋日": "昨天", "噚日": "昨天",
    "琴晚": "昨晚", "尋晚": "昨晚", "噚晚": "昨晚", "後日": "后天", "大後日": "大后天", "前日": "前天",
    "下晝": "下午", "晏晝": "中午", "挨晚": "傍晚", "拜一": "星期一", "拜二": "星期二", "拜三": "星期三",
    "拜四": "星期四", "拜五": "星期五", "拜六": "星期六", "拜日": "星期日", "禮拜": KEEP,
    "點幾": "点多", "點幾分": KEEP, "點正": "点整", "點正是": KEEP, "點正在": KEEP, "點正常": KEEP, "點正確": KEEP,
    "點一個字": "点五分", "點兩個字": "点十分", "點二個字": "点十分", "點三個字": "点十五分",
    "點四個字": "点二十分", "點五個字": "点二十五分", "點六個字": "点三十分", "點七個字": "点三十五分",
    "點八個字": "点四十分", "點九個字": "点四十五分", "點十個字": "点五十分", "點十一個字": "点五十五分",
    "一個鐘": "一个小时", "一個鐘頭": "一个小时", "一個鐘點": KEEP, "個鐘": "个小时", "個鐘頭": "个小时",
    "個半鐘": "个半小时", "個半鐘頭": "个半小时", "鐘頭": "小时", "個鐘點": KEEP, "個鐘錶": KEEP, "鐘數": "小时数",
    "夠鐘": "到时间", "超鐘": "超时", "補鐘": "补时间",
    # Work, home, cleaning.
    "搵": "找", "揾": "找", "攞": "拿", "睇": "看", "睇下": "看一下", "睇吓": "看一下", "諗": "想",
    "諗住": "打算", "瞓": "睡", "瞓覺": "睡觉", "嘈": "吵", "嘈雜": KEEP, "嘥": "浪费", "揀": "选",
    "鍾意": "喜欢", "傾偈": "聊天", "傾吓": "谈一下", "傾下": "谈一下", "傾傾": "谈谈", "再傾": "再谈",
    "返工": "上班", "要求返工": KEEP, "重新返工": KEEP, "需要返工": KEEP, "放工": "下班", "收工": "下班",
    "返屋企": "回家", "屋企": "家", "屋企人": "家人", "得閒": "有空", "幫手": "帮忙",
    "執屋": "打扫", "執嘢": "收拾东西", "執房": "收拾房间", "執拾": "收拾", "搞衛生": "打扫卫生",
    "抹窗": "擦窗", "抹地": "擦地", "抹枱": "擦桌子", "抹塵": "擦灰", "抹玻璃": "擦玻璃",
    "抹乾淨": "擦干净", "抹下": "擦一下", "抹吓": "擦一下", "抹傢俬": "擦家具", "傢俬": "家具",
    "洗衫": "洗衣服", "熨衫": "熨衣服", "晾衫": "晾衣服", "摺衫": "叠衣服", "衫褲": "衣服",
    "菲傭": "保姆", "印傭": "保姆", "外傭": "保姆", "家傭": "保姆", "工人姐姐": "保姆",
    "鐘點工人": "钟点工", "鐘點姐姐": "钟点工", "細路": "小孩", "細路仔": "小孩",
    "雪櫃": "冰箱", "焗爐": "烤箱", "冷氣": "空调", "冷氣機": "空调", "梳化": "沙发", "地氈": "地毯",
    "枱": "桌子", "喇叭": KEEP, "鐘點": KEEP,
    # Mandarin that holds a key (邊邊角角 is 边边角角, 要求其他 is no 求其): protected.
    "邊邊角角": KEEP, "要求其": KEEP, "請求其": KEEP, "追求其": KEEP, "以後日": KEEP, "之後日": KEEP,
    "之前日": KEEP, "提前日": KEEP, "按金額": KEEP, "輸入數": KEEP, "錄入數": KEEP, "計入數": KEEP,
    "看更多": KEEP, "旁邊": KEEP, "周邊": KEEP, "好平整": KEEP, "快點搞": KEEP, "早點搞": KEEP, "點算了": KEEP,
    "重點解": KEEP, "聽日語": KEEP, "鋼琴日": KEEP, "好耐髒": KEEP, "幾耐用": KEEP,
    "櫈": "凳子", "沖涼": "洗澡", "沖涼房": "浴室", "露台": "阳台", "地拖": "拖把",
    "吸塵機": "吸尘器", "被鋪": "被子", "煮飯": "做饭", "食飯": "吃饭", "食嘢": "吃东西", "食藥": "吃药",
    "食素": "吃素", "鎖匙": "钥匙", "門匙": "门钥匙", "門鐘": "门铃", "撳鐘": "按门铃", "撳": "按",
    "𨋢": "电梯", "閂": "关", "熄燈": "关灯", "泊車": "停车", "看更": "保安",
    "打風": "刮台风", "落雨": "下雨", "黑雨": "暴雨", "紅雨": "暴雨", "風球": "台风信号",
    # Prices and payment.
    "按金": "押金", "折頭": "折扣", "埋單": "结账", "入數": "转账",
    "轉數快": "转账", "計錢": "算钱", "好平": "很便宜", "退返": "退还", "攞返": "拿回",
    # Complaints.
    "衰咗": "坏了", "整爛": "弄坏", "打爛": "打碎", "跌爛": "摔碎", "刮花": "划花",
    "整污糟": "弄脏", "污糟": "脏", "整親": "弄伤", "整返": "修好", "整返好": "修好",
    "整乾淨": "弄干净", "攞錯": "拿错",
    "求其": "马虎", "求其次": KEEP, "黑口黑面": "摆脸色", "嬲": "生气", "好嬲": "很生气", "激氣": "生气",
    "放飛機": "爽约", "甩底": "爽约", "嘥時間": "浪费时间",
    "唔好郁": "不要动", "郁手": "动手", "郁過": "动过", "郁咗": "动了", "郁吓": "动一下", "冇郁": "没动",
}

# Keys whose Simplified spelling is an everyday Mandarin word: matched in Traditional only.
TRADITIONAL_ONLY = frozenset({"返工", "點計", "點收費", "點收錢", "點正", "閂", "傾下", "再傾", "幫手",
                              "枱"})  # 台 is 阳台, 台湾

# 蚊 (dollars) is a mosquito after anything but an amount: only digits and numerals + 蚊 count.
for _n in "0123456789十百千萬万兩两":
    TABLE[_n + "蚊"] = _n.replace("萬", "万").replace("兩", "两") + "元"
del _n


@dataclass(frozen=True, slots=True)
class Table:
    """The compiled table: lookups by exact key, and per first character the key lengths to try.
    ``weak`` keys have no Cantonese-only character (聽日, 幾多, 邊個): Mandarin may hold them (听日语, 边边角角),
    so they apply only in a message that shows Cantonese or Traditional writing (see ``context``)."""

    entries: dict[str, Value]
    lengths: dict[str, tuple[int, ...]]
    weak: frozenset[str] = frozenset()

    def match(self, text: str, i: int, context: bool = True) -> tuple[int, str] | None:
        """The longest key at ``text[i]``: (its length, its replacement, ``KEEP`` to protect it); weak
        keys only when ``context``."""
        lens = self.lengths.get(text[i])
        if lens is None:
            return None
        n = len(text)
        for size in lens:
            end = i + size
            if end > n:
                continue
            key = text[i:end]
            value = self.entries.get(key)
            if value is None or (not context and key in self.weak):
                continue
            if isinstance(value, tuple):
                value = value[0] if is_content(text, end) else value[1]
                if value is None:
                    continue
            return size, value
        return None


def is_content(text: str, i: int) -> bool:
    """Whether ``text[i]`` carries on the clause: a word character, not a sentence particle."""
    return i < len(text) and text[i].isalnum() and text[i] not in PARTICLES


def compile_table(simplify: Callable[[str], str]) -> Table:
    """The table with each key in its Traditional and (``simplify``) Simplified spellings."""
    entries: dict[str, Value] = dict(TABLE)
    for key, value in TABLE.items():
        if key in TRADITIONAL_ONLY or "係" in key:
            continue
        entries.setdefault(simplify(key), value)  # an explicit Simplified key wins
    lengths: dict[str, set[int]] = {}
    for key in entries:
        lengths.setdefault(key[0], set()).add(len(key))
    weak = frozenset(k for k in entries if not any(c in CANTONESE_CHARS for c in k))
    return Table(entries, {c: tuple(sorted(s, reverse=True)) for c, s in lengths.items()}, weak)
