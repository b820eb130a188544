"""The example questions on the empty chat page have real answers in the demo data.

Each example is a question of bench/questions.yaml; its facts, worked out from the raw
records, are not empty, and our tools' answers to its calls hold every one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pyairtable import Api

from bench.parts.tool_facts import DemoData, facts_of, present
from bench.tool_efficiency import Ours
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services
from services.orm import User
from ui.chat_extras import EXAMPLE_QUESTIONS

pytestmark = pytest.mark.sql
QUESTIONS = Path(__file__).resolve().parents[3] / "bench" / "questions.yaml"


def _planned() -> dict[str, dict[str, Any]]:
    return {q["question"]: q for q in yaml.safe_load(QUESTIONS.read_text())["questions"]}


def test_examples__cover_every_demo_base() -> None:
    planned = _planned()
    assert all(q in planned for q in EXAMPLE_QUESTIONS)
    assert {planned[q]["base"] for q in EXAMPLE_QUESTIONS} == {
        "appDemoProjects00",
        "appDemoSalesCRM00",
        "appDemoInventory0",
    }


@pytest.mark.parametrize("question", EXAMPLE_QUESTIONS)
def test_example__has_a_non_empty_answer_that_our_tools_give(
    question: str,
    airtable_services: Services,
    member: User,
    airtable_emulator: EmulatorServer,
) -> None:
    plan = _planned()[question]
    facts = facts_of(plan, DemoData(Api(DEV_TOKEN, endpoint_url=airtable_emulator.url)))
    assert facts
    assert all(f.value not in (0, 0.0, "", "0") for f in facts if f.kind == "computed")
    ours = Ours(airtable_services, member.id)
    text = "\n".join(
        part
        for call in plan["calls"]
        for part in ours.run(plan["base"], call["tool"], call["args"])
    )
    assert ours.failures == []
    assert [f.label for f in facts if not present(f, text)] == []
