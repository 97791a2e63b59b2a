"""Address parsing (dialogs/nlu/address.py, backend/domain/places.py): the whole answer kept, its parts in
canonical Chinese names, for Chinese (Simplified and Traditional) and English addresses (issue 10)."""

from __future__ import annotations

import pytest

from backend.domain.places import canonical_city, canonical_district, english
from dialogs.nlu.address import addresses, parse_address, whole_answer

BJ, SH, GZ, SZ, HZ = "北京市", "上海市", "广州市", "深圳市", "杭州市"

# text → (province, city, district, street)
CASES = [
    # the examples
    ("北京市朝阳区建国路88号院3号楼2单元501", (BJ, BJ, "朝阳区", "建国路88号院3号楼2单元501")),
    ("Room 1203, Building 5, 88 Jianguo Road, Chaoyang District, Beijing",
     (BJ, BJ, "朝阳区", "Room 1203, Building 5, 88 Jianguo Road")),
    ("Chaoyang, Beijing", (BJ, BJ, "朝阳区", "")),
    ("Xuhui District Shanghai", (SH, SH, "徐汇区", "")),
    # Chinese, full names
    ("上海市静安区南京西路1266号恒隆广场", (SH, SH, "静安区", "南京西路1266号恒隆广场")),
    ("上海市徐汇区衡山路8号", (SH, SH, "徐汇区", "衡山路8号")),
    ("上海市长宁区愚园路100号", (SH, SH, "长宁区", "愚园路100号")),
    ("上海市浦东新区张江路100弄5号602室", (SH, SH, "浦东新区", "张江路100弄5号602室")),
    ("北京市海淀区中关村大街27号华清嘉园8号楼1104", (BJ, BJ, "海淀区", "中关村大街27号华清嘉园8号楼1104")),
    ("北京市东城区朝阳门内大街5号", (BJ, BJ, "东城区", "朝阳门内大街5号")),
    ("广东省广州市天河区体育西路1号", ("广东省", GZ, "天河区", "体育西路1号")),
    ("广东省深圳市南山区科技园南区1栋", ("广东省", SZ, "南山区", "科技园南区1栋")),
    ("浙江省杭州市西湖区文三路1号", ("浙江省", HZ, "西湖区", "文三路1号")),
    ("江苏省南京市鼓楼区中山路1号", ("江苏省", "南京市", "鼓楼区", "中山路1号")),
    ("天津市和平区南京路1号", ("天津市", "天津市", "和平区", "南京路1号")),
    ("深圳市大鹏新区葵涌街道1号", ("广东省", SZ, "大鹏新区", "葵涌街道1号")),
    ("杭州市桐庐县迎春路1号", ("浙江省", HZ, "桐庐县", "迎春路1号")),
    # Chinese, districts alone, short names, spaces and lead words
    ("朝阳区建国路88号", (BJ, BJ, "朝阳区", "建国路88号")),
    ("朝阳区建国路88号3号楼501", (BJ, BJ, "朝阳区", "建国路88号3号楼501")),
    ("海淀区学院路20号5号楼301", (BJ, BJ, "海淀区", "学院路20号5号楼301")),
    ("浦东新区张江路100弄5号", (SH, SH, "浦东新区", "张江路100弄5号")),
    ("静安区南京西路1号", (SH, SH, "静安区", "南京西路1号")),
    ("徐汇区漕溪北路398号", (SH, SH, "徐汇区", "漕溪北路398号")),
    ("朝阳区望京街道翠湖花园17号楼2单元903", (BJ, BJ, "朝阳区", "望京街道翠湖花园17号楼2单元903")),
    ("北京朝阳建国路88号", (BJ, BJ, "朝阳区", "建国路88号")),
    ("北京 朝阳区 建国路88号", (BJ, BJ, "朝阳区", "建国路88号")),
    ("上海 浦东 张江路100弄5号", (SH, SH, "浦东新区", "张江路100弄5号")),
    ("杭州西湖区文三路1号", ("浙江省", HZ, "西湖区", "文三路1号")),
    ("广州天河区体育西路1号", ("广东省", GZ, "天河区", "体育西路1号")),
    ("我家在朝阳区建国路88号", (BJ, BJ, "朝阳区", "建国路88号")),
    ("地址是浦东新区张江路100弄5号602室", (SH, SH, "浦东新区", "张江路100弄5号602室")),
    ("天河区体育西路1号", ("广东省", GZ, "天河区", "体育西路1号")),
    ("南山区科技园1栋", ("广东省", SZ, "南山区", "科技园1栋")),
    # Traditional characters
    ("海淀區學院路20號5號樓301", (BJ, BJ, "海淀区", "學院路20號5號樓301")),
    ("北京市東城區東單北大街1號", (BJ, BJ, "东城区", "東單北大街1號")),
    ("上海市靜安區南京西路1號", (SH, SH, "静安区", "南京西路1號")),
    # no city to be told: kept whole as the street
    ("建国路88号3号楼501", (None, None, None, "建国路88号3号楼501")),
    ("南京西路1266号", (None, None, None, "南京西路1266号")),
    ("中山路1号", (None, None, None, "中山路1号")),
    ("朝阳门内大街5号", (None, None, None, "朝阳门内大街5号")),
    ("阳光小区5号楼2单元301", (None, None, None, "阳光小区5号楼2单元301")),
    # English
    ("88 Jianguo Road, Chaoyang", (BJ, BJ, "朝阳区", "88 Jianguo Road")),
    ("Room 1203, 88 Jianguo Road, Chaoyang", (BJ, BJ, "朝阳区", "Room 1203, 88 Jianguo Road")),
    ("88 Huaihai Road, Huangpu, Shanghai 200001, China", (SH, SH, "黄浦区", "88 Huaihai Road")),
    ("Flat 2, 3 Hengshan Road, Xuhui District, Shanghai", (SH, SH, "徐汇区", "Flat 2, 3 Hengshan Road")),
    ("100 Zhangjiang Road, Pudong New Area, Shanghai", (SH, SH, "浦东新区", "100 Zhangjiang Road")),
    ("5 Xueyuan Road, Haidian District, Beijing City", (BJ, BJ, "海淀区", "5 Xueyuan Road")),
    ("1 Tiyu West Road, Tianhe District, Guangzhou, Guangdong", ("广东省", GZ, "天河区", "1 Tiyu West Road")),
    ("Unit 3, 1 Keyuan Road, Nanshan, Shenzhen", ("广东省", SZ, "南山区", "Unit 3, 1 Keyuan Road")),
    ("1 Wensan Road, Xihu District, Hangzhou", ("浙江省", HZ, "西湖区", "1 Wensan Road")),
    ("12 Jing'an Temple Lane, Jing'an, Shanghai", (SH, SH, "静安区", "12 Jing'an Temple Lane")),
    ("Flat 5, 18 Nanjing Road", (None, None, None, "Flat 5, 18 Nanjing Road")),
    ("Apt 8, 200 Zhongshan Road", (None, None, None, "Apt 8, 200 Zhongshan Road")),
    ("Room 501, 3 Huaihai Zhong Lu, Shanghai", (SH, SH, None, "Room 501, 3 Huaihai Zhong Lu")),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:24] for c in CASES])
def test_parse_table(text: str, expected: tuple) -> None:
    got = parse_address(text)
    assert (got["province"], got["city"], got["district"], got["street"]) == expected
    assert got["full"] == text  # the whole answer is kept


def test_the_table_has_enough_cases() -> None:
    assert len(CASES) >= 40


def test_the_bug_district_is_never_shi_chaoyang() -> None:
    assert parse_address("北京市朝阳区建国路88号")["district"] == "朝阳区"


def test_english_address_span_is_not_cut() -> None:
    text = "room 1203, building 5, 88 jianguo road, chaoyang district, beijing"
    assert [a["value"] for a in addresses(text)] == [text]
    assert [a["value"] for a in addresses("88 jianguo road, chaoyang tomorrow")] == ["88 jianguo road, chaoyang"]


def test_whole_answer_runs_to_the_end_or_to_the_phone() -> None:
    text = "我家在朝阳区建国路88号3号楼501 进门左手，电话13812345678"
    a, p = text.index("朝阳"), text.index("138")
    ents = [{"entity": "address", "start": a, "end": a + 16}, {"entity": "phone", "start": p, "end": p + 11}]
    assert whole_answer(text, ents) == "朝阳区建国路88号3号楼501 进门左手"
    assert whole_answer("hello", []) is None


@pytest.mark.parametrize(("name", "city"), [("北京", BJ), ("Beijing", BJ), ("beijing city", BJ), ("上海市", SH),
                                            ("滬", None), ("杭州", HZ), ("乌有市", "乌有市"), ("xyz", None)])
def test_canonical_city(name: str, city: str | None) -> None:
    assert canonical_city(name) == city


def test_canonical_district_and_english_names() -> None:
    assert canonical_district(BJ, "朝阳") == "朝阳区" and canonical_district(None, "Pudong") == "浦东新区"
    assert canonical_district(SH, "Huangpu") == "黄浦区" and canonical_district(GZ, "Huangpu") == "黄埔区"
    assert english("朝阳区") == "Chaoyang District" and english("浦东新区") == "Pudong New Area"
    assert english("北京市") == "Beijing" and english("桐庐县") == "Tonglu County"
