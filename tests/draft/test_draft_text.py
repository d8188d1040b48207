"""The pieces under the draft: YAML with comments that reads back as drafted, regexes that survive the next
run, value types, JSON Schemas of health bodies."""

from __future__ import annotations

import re

import jsonschema
import pytest
import yaml

from obsconf.draft.health import infer_schema
from obsconf.draft.patterns import alternation, common_type, generalize, is_generalized
from obsconf.draft.yamltext import Block, Comments, Entry, Item, Items, data, render, scalar

AWKWARD = ["true", "null", "201", "1.0", "a: b", "x, y", "#x", "- x", "{run_id}", "GET /a/{id}", "", " lead",
           "trail ", "it's", 'say "hi"', "[x]", "ü", "@at", "*star", "&amp", "!bang", "%p", "back\\slash", "tab\there",
           "line\nbreak", "+Inf", "~", "yes", "no", "on", "0x1f", "1e3", "12:30", "2027-01-15"]


@pytest.mark.parametrize("value", AWKWARD)
def test_every_scalar_reads_back_as_itself_in_block_and_flow(value: str) -> None:
    doc = Block([Entry("k", value, "evidence # with a hash"), Entry("flow", [value, 1]), Entry("map", {value: value})])
    text = render(doc)
    assert yaml.safe_load(text) == {"k": value, "flow": [value, 1], "map": {value: value}}


def test_numbers_booleans_and_infinity() -> None:
    assert [scalar(v) for v in (1, 0.005, 10.0, True, None, float("inf"))] == ["1", "0.005", "10.0", "true", "null",
                                                                               ".inf"]


def test_comments_go_where_they_are_put_and_data_leaves_them_out() -> None:
    doc = Block()
    doc.add("a", 1, "one", above=("before a",))
    doc.entries.append(Entry("", Comments(("only a comment",))))
    doc.add("items", Items([Item(Block([Entry("name", "x", "the x"), Entry("v", [1, 2])]), above=("item above",))]))
    text = render(doc, ("header",))
    assert text.splitlines() == ["# header", "# before a", "a: 1  # one", "# only a comment", "items:",
                                 "  # item above", "  - name: x  # the x", "    v: [1, 2]"]
    assert data(doc) == {"a": 1, "items": [{"name": "x", "v": [1, 2]}]}


def test_long_flow_lists_wrap_and_still_read_back() -> None:
    values = [0.005 * i for i in range(1, 40)] + ["+Inf"]
    text = render(Block([Entry("outer", Block([Entry("buckets", values, "why")]))]))
    assert max(len(line) for line in text.splitlines()) <= 120
    assert yaml.safe_load(text) == {"outer": {"buckets": values}}


def test_nested_data_without_comments_renders_as_blocks() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}, "required": ["a"]}
    assert yaml.safe_load(render(Block([Entry("schema", schema)]))) == {"schema": schema}


@pytest.mark.parametrize(("text", "other"), [
    ("order ord-5d1e8a2b3c4d placed", "order ord-00ff00ff00ff placed"),
    ("Serving on http://127.0.0.1:41234", "Serving on http://127.0.0.1:8080"),
    ("Started server process [4412]", "Started server process [97]"),
    ("request 0f8fad5b-d9cb-469f-a165-70867728950e done", "request 7c9e6679-7425-40de-944b-e07fc1f90ae7 done"),
    ("receipts/ord-5d1e8a2b3c4d.json", "receipts/ord-123456789012.json"),
])
def test_generalized_patterns_match_the_next_run(text: str, other: str) -> None:
    pattern = generalize(text)
    assert re.fullmatch(pattern, text) and re.fullmatch(pattern, other), pattern
    assert is_generalized(text)


def test_words_stay_words_and_regex_characters_are_escaped() -> None:
    assert generalize("order placed") == "^order placed$"
    assert not is_generalized("GET /products/{product_id}")
    assert re.fullmatch(generalize("a.b (c) [d] $x ^ | *"), "a.b (c) [d] $x ^ | *")
    assert not re.fullmatch(generalize("a.b"), "aXb")
    assert alternation(["shop started", "listening on 9000", "listening on 9001"]) == \
        "^(listening on [0-9a-f]+|shop started)$"


def test_common_types_are_the_narrowest_every_value_has() -> None:
    assert common_type([1, 2]) == "integer"
    assert common_type([1, 2.5]) == "number"
    assert common_type([True]) == "boolean"
    assert common_type(["2027-01-15T08:00:00Z"]) == "rfc3339"
    assert common_type(["2027-01-15T08:00:00Z", 1.7e9]) == "timestamp"
    assert common_type(["a" * 32]) == "hex32"
    assert common_type(["a" * 32], attribute=True) == "string"
    assert common_type(["x", 1]) is None
    assert common_type([]) is None


def test_health_schemas_accept_every_body_they_came_from_and_pin_the_state_word() -> None:
    bodies = [{"status": "ok", "checks": [{"name": "db", "ok": True}], "version": "1.2"},
              {"status": "ok", "checks": [], "uptime": 3}]
    schema = infer_schema(bodies)
    for body in bodies:
        jsonschema.validate(body, schema)
    assert schema["required"] == ["status", "checks"]
    assert schema["properties"]["status"]["const"] == "ok"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"status": "degraded", "checks": []}, schema)
    assert infer_schema([1, 2.5]) == {"type": "number"}
    assert infer_schema(["a", None]) == {"type": ["null", "string"]}
