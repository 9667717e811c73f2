"""Golden sets: one JSON case per line; a bad line is `file:line: what is wrong`."""

from __future__ import annotations

import pytest

from harness import load_project
from harness.errors import GoldenSetError
from tests.projfix import cases, write_project


@pytest.mark.parametrize("line, message", [
    ('{"id": "a", "vars": {"text": "x"}', r"golden_sets/t\.jsonl:2: invalid JSON"),
    ('[1, 2]', r"golden_sets/t\.jsonl:2: a case must be a JSON object"),
    ('{"vars": {"text": "x"}}', r'golden_sets/t\.jsonl:2: missing "id"'),
    ('{"id": "c000", "vars": {"text": "x"}}', r"golden_sets/t\.jsonl:2: duplicate id 'c000' \(first on line 1\)"),
    ('{"id": "z", "vars": {"text": "x"}, "expect": "x"}', r"golden_sets/t\.jsonl:2: unknown key 'expect'"),
    ('{"id": "z", "vars": "text"}', r'golden_sets/t\.jsonl:2: "vars" must be an object'),
])
def test_bad_golden_line_is_file_line_what(tmp_path, line, message):
    write_project(tmp_path, golden={"t": cases(1)})
    with (tmp_path / "golden_sets" / "t.jsonl").open("a") as f:
        f.write(line + "\n")
    with pytest.raises(GoldenSetError, match=message):
        load_project(tmp_path)


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"])
def test_a_line_separator_inside_a_json_string_stays_in_its_case(tmp_path, char):
    # JSON allows these unescaped; str.splitlines() would cut the line there
    import json

    write_project(tmp_path, golden={"t": cases(1)})
    case = {"id": "z", "vars": {"text": f"before{char}after"}, "expected": "yes"}
    with (tmp_path / "golden_sets" / "t.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(case, ensure_ascii=False) + "\n")
    golden = load_project(tmp_path).tasks["t"].golden
    assert [c.vars["text"] for c in golden.cases] == ["yes", f"before{char}after"]
