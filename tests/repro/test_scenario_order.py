"""The runner starts the costliest scenarios first (so none runs alone at the end); the report keeps catalog order."""

from __future__ import annotations

from codex_fixtures import codex_binary_info
from codex_fixtures.repro import scenarios
from codex_fixtures.repro.report import ScenarioResult


def test_costliest_first_report_in_catalog_order(monkeypatch):
    started: list[str] = []

    def fake_run_one(scenario, binary, **_):
        started.append(scenario.name)
        return ScenarioResult(scenario=scenario, binary=binary, verdict="as-intended", intended=scenario.intended, observed="ok")

    monkeypatch.setattr(scenarios, "run_one", fake_run_one)
    report = scenarios.run_scenarios(binaries=[codex_binary_info()], jobs=1)
    costs = [scenarios.SCENARIOS[name].cost for name in started]
    assert costs == sorted(costs, reverse=True) and costs[0] > 1
    assert started[0] == "resume-path-vs-thread-id"
    assert [r.name for r in report.results] == list(scenarios.SCENARIOS)
