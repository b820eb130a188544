"""The benches fail when they should: a missed target exits 1, a miscounted fact is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyairtable import Api

from bench.guard_overhead import CALL_TOKENS, day_token_budget, expected_alerts
from bench.parts.tool_facts import DemoData, facts_of
from bench.report import Check, finish
from emulator import DEV_TOKEN
from services.budget.pricing import CostEstimate

BENCHES = sorted(
    p for p in (Path(__file__).resolve().parents[2] / "bench").glob("*.py") if p.stem != "report"
)


def test_finish__is_status_1_when_a_check_missed(capsys: pytest.CaptureFixture[str]) -> None:
    status = finish([Check("rows written", True), Check("median 3.1 ms < 2 ms", False)])
    assert status == 1
    assert "MISS median 3.1 ms < 2 ms" in capsys.readouterr().out


def test_finish__is_status_0_when_every_check_is_met(capsys: pytest.CaptureFixture[str]) -> None:
    status = finish([Check("rows written", True), Check("median 1.1 ms < 2 ms", True)])
    assert status == 0
    assert "all targets met" in capsys.readouterr().out


@pytest.mark.parametrize("path", [p for p in BENCHES if "def main(" in p.read_text()], ids=str)
def test_bench__exits_with_its_verdict(path: Path) -> None:
    assert "sys.exit(" in path.read_text()


def test_finish__refuses_a_bench_that_checks_nothing() -> None:
    with pytest.raises(ValueError, match="check something"):
        finish([])


def test_day_token_budget__lets_through_exactly_the_planned_calls() -> None:
    worst = CostEstimate(input_tokens=300, output_tokens=65_536, input_nusd=1, total_nusd=2)
    budget = day_token_budget(200, worst)
    assert (200 - 1) * CALL_TOKENS + worst.total_tokens <= budget  # the last call fits
    assert 200 * CALL_TOKENS + worst.total_tokens > budget  # the next one does not


def test_expected_alerts__are_the_thresholds_the_settled_total_reached() -> None:
    assert expected_alerts(1000, 499) == set()
    assert expected_alerts(1000, 800) == {50, 80}
    assert expected_alerts(1000, 1000) == {50, 80, 100}


def _question(**facts: list[object]) -> dict[str, object]:
    return {"id": "q", "base": "appDemoProjects00", "facts": facts}


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"readable": [{"count": "Tasks"}]}, "file it as computed"),
        ({"readable": [{"sum": "Estimate Hours", "table": "Tasks"}]}, "file it as computed"),
        ({"computed": [{"values": "Name", "table": "Projects"}]}, "file it as readable"),
        ({"computed": ["Blocked"]}, "file it as readable"),
        ({"totals": [{"count": "Tasks"}]}, "computed: \\[...\\], readable"),
    ],
)
def test_facts_of__refuses_a_fact_filed_under_the_wrong_kind(
    facts: dict[str, list[object]], message: str
) -> None:
    # Refused before any record is read: the API is never called.
    data = DemoData(Api(DEV_TOKEN, endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(ValueError, match=message):
        facts_of(_question(**facts), data)
