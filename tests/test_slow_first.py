"""The suite's own scheduling: slowest files first, each file whole and in its order (tests/slow_first.py)."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from slow_first import TABLE, load_table, slowest_files_first

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Item:
    nodeid: str


def ids(items):
    return [i.nodeid for i in items]


def test_files_in_descending_cost_each_whole_and_in_its_order():
    items = [Item(n) for n in ("a.py::t1", "a.py::t2", "b.py::t1", "c.py::t1", "b.py::t2", "c.py::t2")]
    ordered = slowest_files_first(items, {"a.py": 1.0, "b.py": 30.0, "c.py": 5.0})
    assert ids(ordered) == ["b.py::t1", "b.py::t2", "c.py::t1", "c.py::t2", "a.py::t1", "a.py::t2"]


def test_an_unknown_file_counts_as_the_median_and_ties_keep_collection_order():
    items = [Item(n) for n in ("new.py::t", "fast.py::t", "mid.py::t", "slow.py::t", "other_new.py::t")]
    ordered = slowest_files_first(items, {"fast.py": 1.0, "mid.py": 10.0, "slow.py": 100.0})
    assert ids(ordered) == ["slow.py::t", "new.py::t", "mid.py::t", "other_new.py::t", "fast.py::t"]


def test_no_table_leaves_the_order_alone(tmp_path):
    items = [Item(n) for n in ("b.py::t", "a.py::t")]
    assert load_table(tmp_path / "missing.json") == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert load_table(tmp_path / "bad.json") == {}
    assert ids(slowest_files_first(items, {})) == ["b.py::t", "a.py::t"]


def test_the_committed_table_names_only_test_files_that_exist():
    table = load_table(TABLE)
    assert len(table) >= 50
    gone = [f for f in table if not (ROOT / f).is_file()]
    assert not gone, f"tests/durations.json names files that are gone (python -m benchmarks.durations REPORT): {gone}"


def test_this_session_runs_the_slowest_files_first(request: pytest.FixtureRequest):
    """The hook in tests/conftest.py applied to this very session (whatever subset was collected)."""
    table = load_table(TABLE)
    files = list(dict.fromkeys(item.nodeid.split("::", 1)[0] for item in request.session.items))
    known = [f for f in files if f in table]
    assert known == sorted(known, key=lambda f: -table[f])


def test_durations_reads_junit_and_durations_text(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_durations", ROOT / "benchmarks" / "durations.py")
    durations = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(durations)

    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuites><testsuite><testcase classname="tests.test_x" name="a" file="tests/test_x.py" time="2.5"/>'
                     '<testcase classname="tests.test_x" name="b" file="tests/test_x.py" time="1.0"/></testsuite></testsuites>')
    text = tmp_path / "durations.txt"
    text.write_text("4.00s call     tests/test_x.py::test_a\n0.50s setup    tests/test_x.py::test_a\n1.00s call     tests/test_y.py::t[p-1]\n")
    assert durations.per_file(junit) == {"tests/test_x.py": 3.5}
    assert durations.per_file(text) == {"tests/test_x.py": 4.5, "tests/test_y.py": 1.0}
    table = tmp_path / "durations.json"
    monkeypatch.setattr(durations, "TABLE", table)
    monkeypatch.setattr(durations, "ROOT", tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("")
    assert durations.main([str(junit), str(text)]) == 0
    assert json.loads(table.read_text())["files"] == {"tests/test_x.py": 4.5}  # test_y.py is gone: left out
