"""Chinese place names and address parsing: province / city / district / street, in Chinese or English.

A shipped table, not a gazetteer library: all provinces, the larger cities, and every district of the
cities a home-services company here serves (北京, 上海, 广州, 深圳, 杭州) with their English names.
``parse`` reads the head of an address (the administrative part comes first in Chinese, last in
English) and returns canonical Chinese names (北京市, 朝阳区); the client's whole answer is kept as
``full``. Names are matched on the Simplified form; Traditional characters are folded first.
Why not ``cpca``: it pulls in pandas (~60 MB) for a table we need a few hundred rows of, its data
dates from 2021 and it has no English names (see docs/service_area.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# (canonical, English); the short form is the canonical name without its suffix.
PROVINCES = [
    ("北京市", "Beijing"), ("天津市", "Tianjin"), ("上海市", "Shanghai"), ("重庆市", "Chongqing"),
    ("河北省", "Hebei"), ("山西省", "Shanxi"), ("辽宁省", "Liaoning"), ("吉林省", "Jilin"),
    ("黑龙江省", "Heilongjiang"), ("江苏省", "Jiangsu"), ("浙江省", "Zhejiang"), ("安徽省", "Anhui"),
    ("福建省", "Fujian"), ("江西省", "Jiangxi"), ("山东省", "Shandong"), ("河南省", "Henan"),
    ("湖北省", "Hubei"), ("湖南省", "Hunan"), ("广东省", "Guangdong"), ("海南省", "Hainan"),
    ("四川省", "Sichuan"), ("贵州省", "Guizhou"), ("云南省", "Yunnan"), ("陕西省", "Shaanxi"),
    ("甘肃省", "Gansu"), ("青海省", "Qinghai"), ("台湾省", "Taiwan"), ("内蒙古自治区", "Inner Mongolia"),
    ("广西壮族自治区", "Guangxi"), ("西藏自治区", "Tibet"), ("宁夏回族自治区", "Ningxia"),
    ("新疆维吾尔自治区", "Xinjiang"), ("香港特别行政区", "Hong Kong"), ("澳门特别行政区", "Macau"),
]
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
# (canonical, English, province)
CITIES = [
    *[(m, en, m) for m, en in PROVINCES[:4]],
    ("石家庄市", "Shijiazhuang", "河北省"), ("唐山市", "Tangshan", "河北省"), ("保定市", "Baoding", "河北省"),
    ("廊坊市", "Langfang", "河北省"), ("太原市", "Taiyuan", "山西省"), ("沈阳市", "Shenyang", "辽宁省"),
    ("大连市", "Dalian", "辽宁省"), ("长春市", "Changchun", "吉林省"), ("哈尔滨市", "Harbin", "黑龙江省"),
    ("南京市", "Nanjing", "江苏省"), ("苏州市", "Suzhou", "江苏省"), ("无锡市", "Wuxi", "江苏省"),
    ("常州市", "Changzhou", "江苏省"), ("南通市", "Nantong", "江苏省"), ("杭州市", "Hangzhou", "浙江省"),
    ("宁波市", "Ningbo", "浙江省"), ("温州市", "Wenzhou", "浙江省"), ("嘉兴市", "Jiaxing", "浙江省"),
    ("绍兴市", "Shaoxing", "浙江省"), ("合肥市", "Hefei", "安徽省"), ("福州市", "Fuzhou", "福建省"),
    ("厦门市", "Xiamen", "福建省"), ("南昌市", "Nanchang", "江西省"), ("济南市", "Jinan", "山东省"),
    ("青岛市", "Qingdao", "山东省"), ("烟台市", "Yantai", "山东省"), ("郑州市", "Zhengzhou", "河南省"),
    ("武汉市", "Wuhan", "湖北省"), ("长沙市", "Changsha", "湖南省"), ("广州市", "Guangzhou", "广东省"),
    ("深圳市", "Shenzhen", "广东省"), ("东莞市", "Dongguan", "广东省"), ("佛山市", "Foshan", "广东省"),
    ("珠海市", "Zhuhai", "广东省"), ("惠州市", "Huizhou", "广东省"), ("中山市", "Zhongshan", "广东省"),
    ("海口市", "Haikou", "海南省"), ("三亚市", "Sanya", "海南省"), ("成都市", "Chengdu", "四川省"),
    ("贵阳市", "Guiyang", "贵州省"), ("昆明市", "Kunming", "云南省"), ("西安市", "Xi'an", "陕西省"),
    ("兰州市", "Lanzhou", "甘肃省"), ("西宁市", "Xining", "青海省"), ("呼和浩特市", "Hohhot", "内蒙古自治区"),
    ("南宁市", "Nanning", "广西壮族自治区"), ("拉萨市", "Lhasa", "西藏自治区"),
    ("银川市", "Yinchuan", "宁夏回族自治区"),
    ("乌鲁木齐市", "Urumqi", "新疆维吾尔自治区"), ("台北市", "Taipei", "台湾省"),
]
# Every district of the cities served or likely to be: "canonical English" pairs.
DISTRICTS = {
    "北京市": "东城区 Dongcheng,西城区 Xicheng,朝阳区 Chaoyang,海淀区 Haidian,丰台区 Fengtai,石景山区 Shijingshan,"
              "门头沟区 Mentougou,房山区 Fangshan,通州区 Tongzhou,顺义区 Shunyi,昌平区 Changping,大兴区 Daxing,"
              "怀柔区 Huairou,平谷区 Pinggu,密云区 Miyun,延庆区 Yanqing",
    "上海市": "黄浦区 Huangpu,徐汇区 Xuhui,长宁区 Changning,静安区 Jing'an,普陀区 Putuo,虹口区 Hongkou,"
              "杨浦区 Yangpu,闵行区 Minhang,宝山区 Baoshan,嘉定区 Jiading,浦东新区 Pudong,金山区 Jinshan,"
              "松江区 Songjiang,青浦区 Qingpu,奉贤区 Fengxian,崇明区 Chongming",
    "广州市": "越秀区 Yuexiu,海珠区 Haizhu,荔湾区 Liwan,天河区 Tianhe,白云区 Baiyun,黄埔区 Huangpu,番禺区 Panyu,"
              "花都区 Huadu,南沙区 Nansha,从化区 Conghua,增城区 Zengcheng",
    "深圳市": "福田区 Futian,罗湖区 Luohu,南山区 Nanshan,盐田区 Yantian,宝安区 Bao'an,龙岗区 Longgang,"
              "龙华区 Longhua,坪山区 Pingshan,光明区 Guangming,大鹏新区 Dapeng",
    "杭州市": "上城区 Shangcheng,拱墅区 Gongshu,西湖区 Xihu,滨江区 Binjiang,萧山区 Xiaoshan,余杭区 Yuhang,"
              "临平区 Linping,钱塘区 Qiantang,富阳区 Fuyang,临安区 Lin'an,桐庐县 Tonglu,淳安县 Chun'an,"
              "建德市 Jiande",
}
_SUFFIX = re.compile(r"(?:特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|新区|省|市|区|县)$")
# Folded before matching: the Traditional forms of the characters in the names above and in addresses.
_TRAD = str.maketrans(  # generated with OpenCC (s2t, s2hk, s2tw) from the characters of the names
    "東豐臨義烏雲亞從餘蘭興內別區華單廈縣臺號園場壯頭寧寶爾層崗島廣莊慶廬懷無楊棟樓匯漢溝濟澱溫灣濱煙鹽紹維羅肅蘇蕭薩賢貴遼連鄭錢銀錫長門閔陽陝靜順魯鵬黃齊龍",
    "东丰临义乌云亚从余兰兴内别区华单厦县台号园场壮头宁宝尔层岗岛广庄庆庐怀无杨栋楼汇汉沟济淀温湾滨烟盐绍维罗肃苏萧萨贤贵辽连郑钱银锡长门闵阳陕静顺鲁鹏黄齐龙")
_SEP = " ,，、-–—/:：;；"
_ROAD_AFTER = re.compile(r"[门路街道桥]|大街|大道|公园|北路|南路|东路|西路")  # 朝阳门, 中山路: not places
_FAKE_DISTRICT = re.compile(r"(?:小区|社区|园区|校区|景区|城区|片区|街区|厂区|商区|新区\d)$")
_LEAD = re.compile(r"^(?:我家|我们家|家|住址|地址|位置)?(?:是|在|住在|位于)?[:：\s]*")


@dataclass(frozen=True)
class Place:
    province: str | None
    city: str | None
    district: str | None
    street: str
    full: str

    def as_dict(self) -> dict[str, str | None]:
        return {"province": self.province, "city": self.city, "district": self.district,
                "street": self.street, "full": self.full}


def short(name: str) -> str:
    s = _SUFFIX.sub("", name)
    return s if len(s) >= 2 else name


@dataclass(frozen=True)
class _Tables:
    provinces: dict[str, str]  # any form (full, short, English lower case) → canonical
    cities: dict[str, str]
    city_province: dict[str, str]
    districts: dict[str, dict[str, str]]  # city → any form → canonical district
    english: dict[str, str]  # canonical → English


@cache
def _tables() -> _Tables:
    provinces, cities, city_province, english = {}, {}, {}, {}
    for name, en in PROVINCES:
        provinces.update({name: name, short(name): name, en.lower(): name})
        english[name] = en
    for name, en, prov in CITIES:
        cities.update({name: name, short(name): name, en.lower(): name, f"{en.lower()} city": name})
        city_province[name] = prov
        english[name] = en
    districts: dict[str, dict[str, str]] = {}
    for city, rows in DISTRICTS.items():
        forms: dict[str, str] = {}
        for row in rows.split(","):
            name, en = row.split(" ", 1)
            kind = "new area" if name.endswith("新区") else "county" if name.endswith("县") else "district"
            low = en.lower()
            forms.update({name: name, short(name): name, low: name, low.replace("'", ""): name,
                          f"{low} {kind}": name, f"{low.replace(chr(39), '')} {kind}": name, f"{low} qu": name})
            english[name] = f"{en} New Area" if kind == "new area" else f"{en} County" if kind == "county" \
                else f"{en} District"
        districts[city] = forms
    return _Tables(provinces, cities, city_province, districts, english)


def english(name: str | None) -> str | None:
    """The English name of a canonical province, city or district (None when not in the table)."""
    return _tables().english.get(name or "")


def canonical_city(name: str | None) -> str | None:
    """北京 / 北京市 / Beijing / 北京市 → 北京市; an unknown ``X市`` stays as written; else None."""
    raw = (name or "").strip()
    if not raw:
        return None
    t = _tables()
    key = raw.translate(_TRAD)
    key = t.cities.get(key) or t.cities.get(key.lower())
    if key:
        return key
    return raw if re.fullmatch(r"[\u4e00-\u9fff]{2,6}市", raw) else None


def canonical_district(city: str | None, name: str | None) -> str | None:
    """朝阳 / Chaoyang / Chaoyang District → 朝阳区 within ``city`` (or within whichever tabled city has
    it, the first in table order, when ``city`` is None); a name not in the table stays as written."""
    raw = (name or "").strip()
    if not raw:
        return None
    key = raw.translate(_TRAD)
    for c in ([city] if city else []) + list(DISTRICTS):
        forms = _tables().districts.get(c or "", {})
        found = forms.get(key) or forms.get(key.lower())
        if found:
            return found
    return raw


def districts_of(city: str | None) -> frozenset[str]:
    """The canonical districts of a tabled city (empty for a city not in the table)."""
    return frozenset(_tables().districts.get(city or "", {}).values())


def city_of_district(district: str | None) -> str | None:
    """The tabled city that has this canonical district, when exactly one does."""
    owners = [c for c, forms in _tables().districts.items() if district and district in forms.values()]
    return owners[0] if len(owners) == 1 else None


def _head(text: str, pos: int, forms: dict[str, str], *, short_ok: bool = True) -> tuple[str, int] | None:
    """The longest known form starting at ``pos``; a short form (朝阳, 中山) only when no road follows it."""
    for n in range(min(12, len(text) - pos), 1, -1):
        piece = text[pos:pos + n]
        if piece in forms and (_SUFFIX.search(piece) or (short_ok and not _ROAD_AFTER.match(text, pos + n))):
            return forms[piece], pos + n
    return None


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SEP:
        pos += 1
    return pos


def parse(text: str) -> Place:
    full = (text or "").strip()
    if re.search(r"[\u4e00-\u9fff]", full):
        return _parse_zh(full)
    return _parse_en(full)


def _parse_zh(full: str) -> Place:
    t = _tables()
    s = full.translate(_TRAD)
    pos = _skip(s, _LEAD.match(s).end())
    province = city = district = None
    hit = _head(s, pos, t.provinces)
    if hit:
        province, pos = hit[0], _skip(s, hit[1])
    hit = _head(s, pos, t.cities)
    if hit and (province is None or t.city_province.get(hit[0]) == province):
        city, pos = hit[0], _skip(s, hit[1])
    elif province in MUNICIPALITIES:
        city = province
    elif m := re.compile(r"[\u4e00-\u9fff]{2,5}?市(?!场|面|内|中心)").match(s, pos):
        city, pos = m[0], _skip(s, m.end())
    for c in [city] if city in t.districts else ([] if city else list(t.districts)):
        hit = _head(s, pos, t.districts[c])
        if hit:
            district, pos = hit[0], _skip(s, hit[1])
            break
    if district is None:
        m = re.compile(r"[\u4e00-\u9fff]{1,4}?(?:新区|区|县)").match(s, pos)
        if m and not _FAKE_DISTRICT.search(m[0]) and (city or province):
            district, pos = m[0], _skip(s, m.end())
    if district is None and city is None:
        # The head was something else (我想约在…): a full district name anywhere still counts.
        for forms in t.districts.values():
            found = next((f for f in forms if _SUFFIX.search(f) and f in s and re.search(r"[\u4e00-\u9fff]", f)), None)
            if found:
                district, pos = forms[found], _skip(s, s.index(found) + len(found))
                break
    if city is None and district:
        city = city_of_district(district)
    if province is None and city:
        province = t.city_province.get(city)
    return Place(province, city, district, full[pos:].strip(_SEP), full)


# A place name followed by one of these is a street's name (18 Nanjing Road, Huaihai Zhong Lu).
_EN_ROAD_AFTER = re.compile(r"\s*(?:road|rd|street|st|avenue|ave|lane|ln|boulevard|blvd|drive|dr|highway|hwy|lu|"
                            r"jie|xi|dong|bei|nan|zhong|north|south|east|west|middle)\b\.?")


@cache
def _en_forms(table: str) -> dict[str, str]:
    t = _tables()
    forms = {"cities": t.cities, "provinces": t.provinces, "country": {"china": "china", "prc": "china"}}.get(table)
    return {f: c for f, c in (forms if forms is not None else t.districts[table]).items() if f.isascii()}


@cache
def _en_pattern(table: str) -> re.Pattern[str]:
    """One pattern per table, longest name first, so each position takes its longest name."""
    names = sorted(_en_forms(table), key=len, reverse=True)
    return re.compile(r"(?<![a-z])(" + "|".join(map(re.escape, names)) + r")(?![a-z])")


def _parse_en(full: str) -> Place:
    """English: the place names are the last words (…, Chaoyang District, Beijing 100020, China)."""
    t = _tables()
    low = full.lower()
    spans: list[tuple[int, int]] = []

    def find(table: str) -> str | None:
        """The last mention (place names come last) of a name in ``table``, not inside one taken."""
        forms = _en_forms(table)
        best = None
        for m in _en_pattern(table).finditer(low):
            form = m[1]
            if _EN_ROAD_AFTER.match(low, m.end()) and not form.endswith(("district", "area", "county", "city")):
                continue
            if not any(a < m.end() and m.start() < b for a, b in spans):
                best = m
        if best is None:
            return None
        spans.append((best.start(), best.end()))
        return forms[best[1]]

    city = find("cities")
    province = city if city in MUNICIPALITIES else find("provinces")
    district = None
    for c in [city] if city in t.districts else ([] if city else list(t.districts)):
        district = find(c)
        if district:
            break
    find("country")
    if city is None and district:
        city = city_of_district(district)
    if province is None and city:
        province = t.city_province.get(city)
    street = full
    for a, b in sorted(spans, reverse=True):
        street = street[:a] + street[b:]
    street = re.sub(r"\b\d{6}\b", "", street)  # a postcode
    street = re.sub(r"\s*,[\s,]*", ", ", re.sub(r"\s{2,}", " ", street)).strip(_SEP)
    return Place(province, city, district, street, full)
