"""Who may query and manage mirrors (Airtable access decides), the query_records tool as
the agent calls it, and the durable build in the worker (DBOS)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pyairtable import Api

from config.settings import Settings
from emulator import DEV_TOKEN
from emulator.testing import EmulatorServer
from services.container import Services
from services.errors import NotAllowedError
from services.orm import Role
from tests.conftest import LIMITED_PAT, USER_PAT
from tests.integration.airtable.fixtures import create_fresh_base, runtime_for
from tests.support.accounts import make_user
from tests.support.emulated import services_on
from tests.support.workflows import in_process_worker
from tools.query import query_tools

CRM, PROJECTS = "appDemoSalesCRM00", "appDemoProjects00"


@pytest.fixture
def mirrored(
    settings: Settings, services: Services, emulator: EmulatorServer
) -> Iterator[Services]:
    with services_on(settings, emulator.url, mirror_default_bases=f"{CRM},{PROJECTS}") as built:
        from tests.integration.mirrors.conftest import mirror_loop

        mirror_loop(built).run_once()
        yield built


def test_query__only_bases_the_persons_connection_sees(mirrored: Services) -> None:
    member = make_user(mirrored, name="Limited")
    mirrored.airtable_connections.connect(actor_id=member.id, token=LIMITED_PAT)
    answer = mirrored.mirror_queries.run(member.id, PROJECTS, 'SELECT COUNT(*) FROM "Projects"')
    assert answer.rows == [(40,)]
    with pytest.raises(NotAllowedError):
        mirrored.mirror_queries.run(member.id, CRM, 'SELECT COUNT(*) FROM "Deals"')


def test_turning_on__admins_and_connection_owners_only(mirrored: Services) -> None:
    member = make_user(mirrored, name="Member")  # uses the org connection, has none of its own
    with pytest.raises(NotAllowedError, match="admin"):
        mirrored.mirrors.turn_on(member.id, is_admin=False, base_id=CRM)
    owner = make_user(mirrored, name="Owner")
    mirrored.airtable_connections.connect(actor_id=owner.id, token=USER_PAT)
    mirrored.mirrors.turn_off(owner.id, is_admin=False, base_id=CRM)
    assert mirrored.mirrors.registry.base(CRM).enabled is False  # type: ignore[union-attr]
    limited = make_user(mirrored, name="Limited")
    mirrored.airtable_connections.connect(actor_id=limited.id, token=LIMITED_PAT)
    with pytest.raises(NotAllowedError):
        mirrored.mirrors.turn_on(limited.id, is_admin=False, base_id=CRM)


def test_default_bases__stay_off_once_turned_off(mirrored: Services) -> None:
    admin = make_user(mirrored, role=Role.ADMIN, name="Admin")
    mirrored.mirrors.turn_off(admin.id, is_admin=True, base_id=CRM)
    assert mirrored.mirrors.ensure_defaults() == []
    assert mirrored.mirrors.registry.base(CRM).enabled is False  # type: ignore[union-attr]


def test_tool__compact_rows_with_freshness(mirrored: Services) -> None:
    user = make_user(mirrored)
    tool = query_tools(mirrored)[0]
    sql = 'SELECT "Status", COUNT(*) AS n FROM "Projects" GROUP BY "Status" ORDER BY n DESC'
    message = tool.invoke(
        {
            "type": "tool_call",
            "id": "q1",
            "name": "query_records",
            "args": {"sql": sql, "runtime": runtime_for(user.id, PROJECTS)},
        }
    )
    text = str(message.content)
    assert text.startswith("query_records: ")
    assert "behind Airtable" in text.splitlines()[0]
    assert text.splitlines()[1] == "Status|n"
    assert message.artifact["kind"] == "query"
    assert sum(row[1] for row in message.artifact["rows"]) == 40


def test_tool__the_newest_records_by_when_they_were_added(
    mirrored: Services, emulator: EmulatorServer
) -> None:
    user = make_user(mirrored)
    tool = query_tools(mirrored)[0]
    assert '"_created"' in str(tool.args_schema.model_json_schema())  # type: ignore[union-attr]
    sql = 'SELECT "Name", "_created" FROM "Projects" ORDER BY "_created" DESC LIMIT 3'
    message = tool.invoke(
        {
            "type": "tool_call",
            "id": "q3",
            "name": "query_records",
            "args": {"sql": sql, "runtime": runtime_for(user.id, PROJECTS)},
        }
    )
    assert message.status != "error", message.content
    records = Api(DEV_TOKEN, endpoint_url=emulator.url).table(PROJECTS, "Projects").all()
    newest = sorted(records, key=lambda r: r["createdTime"], reverse=True)[:3]
    assert [row[0] for row in message.artifact["rows"]] == [r["fields"]["Name"] for r in newest]
    assert str(message.content).splitlines()[1] == "Name|_created"


def test_tool__a_mistake_is_one_line_to_correct_from(mirrored: Services) -> None:
    user = make_user(mirrored)
    message = query_tools(mirrored)[0].invoke(
        {
            "type": "tool_call",
            "id": "q2",
            "name": "query_records",
            "args": {
                "sql": 'SELECT "Stage" FROM "Deal"; DROP TABLE "Deals"',
                "runtime": runtime_for(user.id, CRM),
            },
        }
    )
    assert message.status == "error"
    assert str(message.content) == "Send exactly one SELECT statement (no ';'-separated list)."


def test_worker__builds_a_turned_on_mirror_in_a_durable_run(
    settings: Settings, services: Services, emulator: EmulatorServer
) -> None:
    with services_on(settings, emulator.url, mirror_default_bases="") as built:
        base = create_fresh_base(emulator)
        admin = make_user(built, role=Role.ADMIN, name="Admin")
        built.mirrors.turn_on(admin.id, is_admin=True, base_id=base.id)
        with in_process_worker(built) as handle:
            handle.worker.mirrors.run_once()  # claims the queued tables, starts the run
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                states = built.mirrors.registry.tables(base.id)
                if all(s.status == "ready" for s in states):
                    break
                time.sleep(0.2)
        assert {s.name: (s.status, s.rows) for s in states} == {
            "People": ("ready", 3),
            "Tasks": ("ready", 25),
        }
        answer = built.mirror_queries.run(admin.id, base.id, 'SELECT COUNT(*) FROM "Tasks"')
        assert answer.rows == [(25,)]
