"""Duration, area, phone, rating, address and service type through the full parser."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

NOW = datetime(2026, 11, 18, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def ents(nlu, text: str, kind: str) -> list:
    return [e for e in nlu.parse(text, now=NOW)["entities"] if e["entity"] == kind]


def values(nlu, text: str, kind: str) -> list:
    return [e["value"] for e in ents(nlu, text, kind)]


@pytest.mark.parametrize(("text", "hours"), [
    ("打扫三个小时", 3), ("做半天", 4), ("4 hours please", 4), ("两个半小时", 2.5), ("一个半小时", 1.5),
    ("1.5小时", 1.5), ("半小时", 0.5), ("一整天", 8), ("3h", 3), ("half a day", 4), ("two hours", 2),
    ("做兩個小時", 2), ("2 and a half hours", 2.5), ("3个钟", 3), ("做两个半钟就够", 2.5), ("4個鐘", 4),
])
def test_duration(nlu, text: str, hours: float) -> None:
    assert values(nlu, text, "duration") == [hours]


@pytest.mark.parametrize("text", ["请3个钟点工", "买了两个钟表", "3个钟头以后再来", "一个钟后到"])
def test_not_a_duration(nlu, text: str) -> None:
    assert values(nlu, text, "duration") == []


@pytest.mark.parametrize(("text", "m2"), [
    ("房子120平", 120), ("一百二十平米", 120), ("90 sqm", 90), ("90平方米", 90), ("90㎡", 90),
    ("about 100 square meters", 100), ("８０平", 80), ("1000 sq ft", 92.9),
])
def test_area(nlu, text: str, m2: float) -> None:
    assert values(nlu, text, "area") == [m2]


@pytest.mark.parametrize("text", [
    "电话13812345678", "138 1234 5678", "+86 138-1234-5678", "0086 13812345678", "138-1234-5678",
    "my number is +8613812345678",
])
def test_phone_normalised_to_digits(nlu, text: str) -> None:
    assert values(nlu, text, "phone") == ["13812345678"]


@pytest.mark.parametrize("text", ["12345678901", "1381234567", "订单号 2138123456789"])
def test_not_a_phone(nlu, text: str) -> None:
    assert values(nlu, text, "phone") == []


@pytest.mark.parametrize(("text", "rating"), [
    ("5分", 5), ("五星好评", 5), ("给4分", 4), ("4 out of 5", 4), ("3/5", 3), ("5颗星", 5), ("满分", 5),
    ("rated 4 stars", 4), ("I'd give it a 4", 4), ("打两分", 2), ("四星", 4),
])
def test_rating(nlu, text: str, rating: int) -> None:
    assert values(nlu, text, "rating") == [rating]


@pytest.mark.parametrize("text", ["十分满意", "等了10分钟", "五星级酒店一样", "7分", "两点十分"])
def test_not_a_rating(nlu, text: str) -> None:
    assert values(nlu, text, "rating") == []


@pytest.mark.parametrize(("text", "address"), [
    ("我家在朝阳区建国路88号院3号楼2单元501", "朝阳区建国路88号院3号楼2单元501"),
    ("地址是浦东新区张江路100弄5号602室", "浦东新区张江路100弄5号602室"),
    ("上门到海淀区中关村南大街5号", "海淀区中关村南大街5号"),
    ("明天下午去望京花园3栋1201", "望京花园3栋1201"),
    ("地址：静安区南京西路1266号恒隆广场", "静安区南京西路1266号恒隆广场"),
    ("Room 1203, Building 5, 88 Jianguo Road", "Room 1203, Building 5, 88 Jianguo Road"),
])
def test_address_span(nlu, text: str, address: str) -> None:
    (a,) = ents(nlu, text, "address")
    assert a["value"] == address
    assert text[a["start"]:a["end"]] == address


@pytest.mark.parametrize(("text", "service"), [
    ("约个保洁", "cleaning"), ("钟点工", "cleaning"), ("明天来打扫", "cleaning"), ("大扫除", "deep_cleaning"),
    ("新房开荒", "deep_cleaning"), ("深度保洁", "deep_cleaning"), ("住家保姆", "housekeeper"),
    ("育儿嫂", "nanny"), ("找个月嫂", "maternity_nurse"), ("医院陪护", "elderly_care"), ("护工", "elderly_care"),
    ("做饭阿姨", "cooking"), ("private chef", "cooking"), ("管家", "butler"), ("約個大掃除", "deep_cleaning"),
    ("a deep clean please", "deep_cleaning"), ("need a babysitter", "nanny"), ("鐘點工", "cleaning"),
])
def test_service_type(nlu, text: str, service: str) -> None:
    assert values(nlu, text, "service_type") == [service]


def test_spans_point_into_the_original_text(nlu) -> None:
    text = "ＡＢＣ：約個大掃除，下週三下午兩點，１２０平，電話１３８１２３４５６７８"
    for e in nlu.parse(text, now=NOW)["entities"]:
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert text[e["start"]:e["end"]].strip() == text[e["start"]:e["end"]]
    kinds = {e["entity"]: e["value"] for e in nlu.parse(text, now=NOW)["entities"]}
    assert kinds == {"service_type": "deep_cleaning", "time": "2026-11-25T14:00:00+08:00", "area": 120,
                     "phone": "13812345678"}


def test_everything_in_one_booking_message(nlu) -> None:
    r = nlu.parse("明天下午3点要保洁，三个小时，90平，地址朝阳区建国路88号，电话13812345678", now=NOW)
    got = {e["entity"]: e["value"] for e in r["entities"]}
    assert got == {"time": "2026-11-19T15:00:00+08:00", "service_type": "cleaning", "duration": 3, "area": 90,
                   "address": "朝阳区建国路88号", "phone": "13812345678"}
    assert r["intent"]["name"] == "book_service"
