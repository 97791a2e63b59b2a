"""nlu_data/ keeps the contract and stays loadable by Rasa 3.6."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
import yaml

from dialogs.nlu.data import DataError, load, parse_annotated
from dialogs.nlu.entities import SERVICE_TYPES
from dialogs.nlu.normalize import _trad_to_simp
from dialogs.nlu.terms import TERM_ENTITIES
from tests.conftest import NLU_DATA
from tests.nlu.test_parse import INTENTS as BASE_INTENTS

# Issue 9: survey answers and the client profile (nlu_data/surveys.yml, nlu_data/profile.yml).
INTENTS = BASE_INTENTS | {"state_preference", "view_profile"}

ENTITIES = {"service_type", "time", "duration", "area", "phone", "rating", "address", "complaint_category", "remedy"}


@pytest.fixture(scope="module")
def data():
    return load(NLU_DATA)


def test_files_are_rasa_3_nlu_yaml() -> None:
    for path in sorted(NLU_DATA.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert str(doc["version"]) == "3.1", path
        assert set(doc) == {"version", "nlu"}, path
        for item in doc["nlu"]:
            keys = set(item) - {"examples"}
            assert len(keys) == 1 and keys <= {"intent", "synonym", "lookup", "regex"}, (path, item)
            assert isinstance(item["examples"], str), (path, item)
            for line in item["examples"].splitlines():
                assert line.startswith("- "), (path, line)
        for regex in (i for i in doc["nlu"] if "regex" in i):
            for line in regex["examples"].splitlines():
                re.compile(line[2:])


def test_exactly_the_contract_intents_with_enough_examples(data) -> None:
    counts = Counter(e.intent for e in data.examples)
    assert set(counts) == INTENTS
    assert sum(counts.values()) / len(counts) >= 40
    assert min(counts.values()) >= 40


def test_no_example_appears_twice(data) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for e in data.examples:
        seen[e.text].add(e.intent)
    dupes = Counter(e.text for e in data.examples)
    assert [t for t, n in dupes.items() if n > 1] == []
    assert {t: i for t, i in seen.items() if len(i) > 1} == {}


def test_annotations_use_contract_entities_and_values(data) -> None:
    for e in data.examples:
        for ent in e.entities:
            assert ent["entity"] in ENTITIES, e
            if ent["entity"] == "service_type":
                assert ent["value"] in SERVICE_TYPES, e
            if ent["entity"] in TERM_ENTITIES:
                assert ent["value"] in TERM_ENTITIES[ent["entity"]], e
    assert set(data.synonyms.values()) <= set(SERVICE_TYPES).union(*TERM_ENTITIES.values())


def test_data_is_written_like_clients_write(data) -> None:
    texts = [e.text for e in data.examples]
    t2s = _trad_to_simp()
    traditional = sum(1 for t in texts if any(t2s.get(c, c) != c for c in t))
    english = sum(1 for t in texts if t.isascii())
    emoji = sum(1 for t in texts if re.search(r"[\U0001F300-\U0001FAFF]", t))
    mixed = sum(1 for t in texts if re.search(r"[a-zA-Z]{2}", t) and re.search(r"[\u4e00-\u9fff]", t))
    assert traditional >= 50 and english >= 300 and emoji >= 10 and mixed >= 20


@pytest.mark.parametrize("bad", ["[明天](", "no dash", "- [x]{\"entity\": }"])
def test_bad_data_is_a_clear_error(tmp_path, bad: str) -> None:
    f = tmp_path / "bad.yml"
    f.write_text(f'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    {bad}\n', encoding="utf-8")
    if bad.startswith("[明天]("):
        text, ents = parse_annotated(bad)  # not an annotation: kept as text
        assert text == bad and ents == ()
        return
    with pytest.raises(DataError):
        load(f)
    with pytest.raises(DataError, match="version"):
        (tmp_path / "v.yml").write_text("version: '2.0'\nnlu: []\n")
        load(tmp_path / "v.yml")


def test_annotation_formats() -> None:
    text, ents = parse_annotated(
        '约[明天下午](time)的[大扫除](service_type:deep_cleaning)，[90平]{"entity": "area", "value": 90}')
    assert text == "约明天下午的大扫除，90平"
    assert [(e["entity"], text[e["start"]:e["end"]], e["value"]) for e in ents] == [
        ("time", "明天下午", "明天下午"), ("service_type", "大扫除", "deep_cleaning"), ("area", "90平", 90)]
