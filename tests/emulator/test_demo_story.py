"""The demo bases tell a coherent story as of their seeding day, and one day gives one story.

Every rule is checked on the records as the API returns them (pyairtable over HTTP), for
a few seeding days, against that day (not the formulas, which use the real clock).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from pyairtable import Api

from emulator import DEV_TOKEN
from emulator.seed import REFERENCE_DATE
from emulator.testing import EmulatorServer

DAYS = (REFERENCE_DATE, date(2027, 3, 1), date(2026, 6, 30))
CRM, PROJECTS, INVENTORY = "appDemoSalesCRM00", "appDemoProjects00", "appDemoInventory0"
Rows = list[dict[str, Any]]


class Story:
    """Every record of the demo bases seeded as of `today`, by table."""

    def __init__(self, api: Api, today: date) -> None:
        self.today = today
        self.iso = today.isoformat()
        self._api = api

    def rows(self, base: str, table: str) -> Rows:
        return [{"id": r["id"], **r["fields"]} for r in self._api.table(base, table).all()]


@pytest.fixture(scope="module", params=DAYS, ids=str)
def story(request: pytest.FixtureRequest) -> Iterator[Story]:
    with EmulatorServer(seed="demo", seed_date=request.param) as server:
        yield Story(Api(DEV_TOKEN, endpoint_url=server.url, retry_strategy=None), request.param)


def test_tasks__fall_inside_their_projects_dates(story: Story) -> None:
    projects = {p["id"]: p for p in story.rows(PROJECTS, "Projects")}
    tasks = story.rows(PROJECTS, "Tasks")
    assert len(tasks) == 5000
    outside = [
        t
        for t in tasks
        if not projects[t["Project"][0]]["Start Date"]
        <= t["Due Date"]
        <= projects[t["Project"][0]]["Due Date"]
    ]
    assert outside == []


def test_project_status__follows_the_dates(story: Story) -> None:
    projects = story.rows(PROJECTS, "Projects")
    kinds = Counter(p["Status"] for p in projects)
    assert set(kinds) == {"Planning", "Active", "On Hold", "Completed"}
    for project in projects:
        if project["Status"] == "Completed":
            assert project["Due Date"] < story.iso
        elif project["Status"] == "Planning":
            assert project["Start Date"] > story.iso
        else:
            assert project["Start Date"] <= story.iso


def test_completed_projects__have_almost_no_open_tasks(story: Story) -> None:
    completed = {p["id"] for p in story.rows(PROJECTS, "Projects") if p["Status"] == "Completed"}
    tasks = [t for t in story.rows(PROJECTS, "Tasks") if t["Project"][0] in completed]
    still_open = [t for t in tasks if not t.get("Done")]
    assert tasks
    assert len(still_open) <= 0.01 * len(tasks)


def test_open_tasks__a_believable_share_is_overdue(story: Story) -> None:
    tasks = story.rows(PROJECTS, "Tasks")
    still_open = [t for t in tasks if not t.get("Done")]
    overdue = [t for t in still_open if t["Due Date"] < story.iso]
    assert 0.05 <= len(overdue) / len(still_open) <= 0.15
    assert all(bool(t.get("Done")) == (t["Status"] == "Done") for t in tasks)


def test_tasks__names_do_not_repeat_within_a_project_and_notes_vary(story: Story) -> None:
    tasks = story.rows(PROJECTS, "Tasks")
    names = Counter((t["Project"][0], t["Name"]) for t in tasks)
    assert max(names.values()) == 1
    assert len({t["Notes"] for t in tasks if t.get("Notes")}) >= 300
    descriptions = {p["Description"] for p in story.rows(PROJECTS, "Projects")}
    assert len(descriptions) == 40


def test_deals__close_dates_agree_with_their_stage(story: Story) -> None:
    deals = story.rows(CRM, "Deals")
    closed = [d for d in deals if d["Stage"] in ("Closed Won", "Closed Lost")]
    still_open = [d for d in deals if d not in closed]
    assert all(d["Close Date"] < story.iso for d in closed)
    slipped = [d for d in still_open if d["Close Date"] < story.iso]
    assert len(slipped) <= 0.05 * len(still_open)
    assert len(still_open) >= 100


def test_customers__became_customers_with_their_first_won_deal(story: Story) -> None:
    companies = {c["id"]: c for c in story.rows(CRM, "Companies")}
    won = [d for d in story.rows(CRM, "Deals") if d["Stage"] == "Closed Won"]
    assert won
    for deal in won:
        company = companies[deal["Company"][0]]
        assert company.get("Active") is True
        assert company["Customer Since"] <= deal["Close Date"]
    winners = {d["Company"][0] for d in won}
    assert all(not c.get("Customer Since") for i, c in companies.items() if i not in winners)


def test_contacts__only_a_few_namesakes_and_notes_vary(story: Story) -> None:
    contacts = story.rows(CRM, "Contacts")
    assert len(contacts) == 600
    assert 590 <= len({c["Name"] for c in contacts}) < 600
    assert len({c["Notes"] for c in contacts if c.get("Notes")}) >= 100
    assert all(c.get("Last Contacted", "") <= story.iso for c in contacts)


def test_orders__run_up_to_the_seeding_day_with_a_weekly_rhythm(story: Story) -> None:
    orders = story.rows(INVENTORY, "Orders")
    days = sorted(date.fromisoformat(o["Order Date"]) for o in orders)
    assert story.today - timedelta(days=3) <= days[-1] < story.today
    weekdays = Counter(d.weekday() for d in days)
    assert min(weekdays[d] for d in range(5)) > 2 * max(weekdays[5], weekdays[6])
    weeks = {d.isocalendar()[:2] for d in days}
    assert len(weeks) >= 50  # no empty weeks over the year
    recent = [o for o in orders if o["Order Date"] >= (story.today - timedelta(days=2)).isoformat()]
    assert any(o["Status"] == "Pending" for o in recent)
    old = [o for o in orders if o["Order Date"] < (story.today - timedelta(days=30)).isoformat()]
    assert not any(o["Status"] == "Pending" for o in old)


def test_one_seeding_day__gives_the_same_bases_byte_for_byte() -> None:
    first, second = (_dump(REFERENCE_DATE) for _ in range(2))
    assert first == second
    assert first != _dump(REFERENCE_DATE + timedelta(days=1))


_OFFSET = re.compile(rb'"offset":\s*"[^"]*"')


def _dump(day: date) -> list[bytes]:
    """Every record page of every demo table, as the API sent it (cursors left out)."""
    pages = []
    with EmulatorServer(seed="demo", seed_date=day) as server:
        for base in (CRM, PROJECTS, INVENTORY):
            schema = _get(server, f"/v0/meta/bases/{base}/tables")
            pages.append(schema)
            for table in json.loads(schema)["tables"]:
                offset = ""
                while True:
                    page = _get(server, f"/v0/{base}/{table['id']}?pageSize=100{offset}")
                    pages.append(_OFFSET.sub(b"", page))
                    cursor = json.loads(page).get("offset")
                    if not cursor:
                        break
                    offset = f"&offset={cursor}"
    return pages


def _get(server: EmulatorServer, path: str) -> bytes:
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"Bearer {DEV_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
    return body
