"""`POST /api/chat` over SSE, the conversation, proposal and change routes, and
`GET /api/metrics`: the real app server, the real Gemini client talking to the fake Gemini
server, a private emulator as Airtable, and a workflow worker in this process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyairtable
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from emulator import DEV_TOKEN
from emulator.seed import PROJECT_TRACKER_ID
from emulator.testing import EmulatorServer
from services.airtable.orm import ChangeSet
from services.budget.budgets import BudgetOverrides
from services.budget.orm import LedgerEntry
from services.budget.pricing import usd_to_nusd
from services.container import Services
from services.metrics import serve
from services.orm import Role, User
from services.questions import MAX_QUESTION_CHARS
from tests.support.accounts import make_user
from tests.support.appserver import AppServer
from tests.support.fake_gemini import FakeGeminiServer, script_status_change
from tests.support.fake_provider_server import ScriptedReply, ScriptedToolCall
from tests.support.gemini_app import gemini_app
from tests.support.net import free_port
from tests.support.workflows import in_process_worker, wait_for_run

pytestmark = pytest.mark.e2e

METRICS_TOKEN = "metrics-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        yield server


@pytest.fixture(scope="module")
def airtable() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed="demo") as server:
        yield server


@pytest.fixture(scope="module")
def app(
    gemini: FakeGeminiServer,
    airtable: EmulatorServer,
    sql_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AppServer, Services]]:
    var_dir = tmp_path_factory.mktemp("chat-api")
    with gemini_app(
        gemini, airtable, sql_url, redis_url, var_dir, METRICS_TOKEN=METRICS_TOKEN
    ) as built:
        yield built


def _client(server: AppServer, services: Services, user: User) -> httpx.Client:
    token = services.api_tokens.create(user_id=user.id, name="api").token
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def _ask(api: httpx.Client, **body: Any) -> list[tuple[str, dict[str, Any]]]:
    return _events(api.post("/api/chat", json=body))


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["message"])


def _scrape(url: str, token: str = METRICS_TOKEN, path: str = "/api/metrics") -> str:
    response = httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def _value(text: str, sample: str, **labels: str) -> float:
    """A sample summed over processes (and any label not named)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def test_chat__streams_a_turn_with_a_tool_and_stores_it(
    app: tuple[AppServer, Services], gemini: FakeGeminiServer
) -> None:
    server, services = app
    user = make_user(services, name="Streamer")
    gemini.script(
        ScriptedReply(
            text="",
            tool_calls=[
                ScriptedToolCall(
                    "aggregate_records",
                    {"table": "Tasks", "metric": "count", "group_by": "Status"},
                )
            ],
        ),
        ScriptedReply(text="Tasks by status are listed above.", chunks=4, input_tokens=900),
        ScriptedReply(text="Tasks by status"),
    )
    before = _scrape(server.url)
    with _client(server, services, user) as api:
        response = api.post(
            "/api/chat",
            json={"message": "How many tasks by status?", "base_id": PROJECT_TRACKER_ID},
        )
        events = _events(response)
        request_id = response.headers["x-request-id"]
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "conversation"
        assert kinds[-2:] == ["usage", "done"]
        assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("token")
        call = next(data for kind, data in events if kind == "tool_call")
        assert call["name"] == "aggregate_records"
        result = next(data for kind, data in events if kind == "tool_result")
        assert result["artifact"]["kind"] == "aggregate"
        tokens = "".join(data["text"] for kind, data in events if kind == "token")
        assert tokens == "Tasks by status are listed above."
        usage, done = events[-2][1], events[-1][1]
        assert usage["tokens"] > 0
        assert usage["cost_usd"] > 0
        assert usage["context"]["sent_tokens"] == 900
        assert usage["context"]["context_window"] == 1_048_576
        conversation_id = done["conversation_id"]
        assert done["answer"] == "Tasks by status are listed above."

        listed = api.get("/api/conversations").json()["conversations"]
        assert [c["id"] for c in listed] == [conversation_id]
        assert listed[0]["title"] == "Tasks by status"
        one = api.get(f"/api/conversations/{conversation_id}").json()
        roles = [m["role"] for m in one["messages"]]
        assert roles == ["user", "assistant", "tool", "assistant"]
        assert one["context"]["window_ratio"] == pytest.approx(900 / 1_048_576, rel=1e-3)
        assert one["context"]["budget_ratio"] > 0

    # Every model call of the turn (answer and title) is traced to the request.
    with services.sql() as session:
        traces = session.scalars(
            select(LedgerEntry.trace_id).where(LedgerEntry.ref_id == conversation_id)
        ).all()
    assert len(traces) == 3
    assert set(traces) == {request_id}

    # The tool's Airtable requests were paced and counted against the base.
    after = _scrape(server.url)
    requests = "pa_airtable_requests_total"
    assert _value(after, requests, base=PROJECT_TRACKER_ID) > _value(
        before, requests, base=PROJECT_TRACKER_ID
    )
    waits = "pa_airtable_pacer_wait_seconds_count"
    assert _value(after, waits) > _value(before, waits)


def test_chat__bad_input_gets_the_pages_messages_and_nothing_is_stored(
    app: tuple[AppServer, Services],
) -> None:
    server, services = app
    user = make_user(services, name="Careless")
    with _client(server, services, user) as api:
        assert _error(api.post("/api/chat", json={"message": "  "}), 422) == (
            "Type a question first."
        )
        long = "x" * (MAX_QUESTION_CHARS + 1)
        assert "the limit is 8,000" in _error(api.post("/api/chat", json={"message": long}), 422)
        assert '"message" must be text' in _error(api.post("/api/chat", json={}), 400)
        assert "not valid JSON" in _error(api.post("/api/chat", content=b"{"), 400)
        unknown = {"message": "hi", "conversation_id": "nope"}
        assert "does not exist" in _error(api.post("/api/chat", json=unknown), 404)
        base = {"message": "hi", "base_id": "appNOPE"}
        assert "No base appNOPE" in _error(api.post("/api/chat", json=base), 422)
        model = {"message": "hi", "model": "gpt-4"}
        assert "Model gpt-4 cannot be used" in _error(api.post("/api/chat", json=model), 422)
        assert api.get("/api/conversations").json()["conversations"] == []
        for limit in ("0", "x", "²"):
            listed = api.get("/api/conversations", params={"limit": limit})
            assert '"limit"' in _error(listed, 400), limit
    anonymous = httpx.post(f"{server.url}/api/chat", json={"message": "hi"})
    assert anonymous.status_code == 401


def test_proposal__confirmed_then_undone_through_the_api(
    app: tuple[AppServer, Services], gemini: FakeGeminiServer, airtable: EmulatorServer
) -> None:
    server, services = app
    user = make_user(services, name="Changer")
    tasks = pyairtable.Api(DEV_TOKEN, endpoint_url=airtable.url).table(PROJECT_TRACKER_ID, "Tasks")
    record = tasks.first(formula="{Status}='Todo'")
    assert record is not None
    script_status_change(gemini, record["id"], "Done", reply="Proposed.", title="Finish a task")
    with _client(server, services, user) as api:
        events = _ask(api, message="Mark it done", base_id=PROJECT_TRACKER_ID)
        proposal = next(data for kind, data in events if kind == "proposal")
        assert proposal["state"] == "pending"
        assert tasks.get(record["id"])["fields"]["Status"] == "Todo"  # nothing written yet
        proposal_id = proposal["proposal_id"]

        applied = api.post(f"/api/proposals/{proposal_id}/confirm")
        assert applied.status_code == 200, applied.text
        with services.sql() as session:
            change_set = session.get(ChangeSet, proposal_id)
            assert change_set is not None
            assert change_set.trace_id == applied.headers["x-request-id"]
        assert applied.json()["done"] == 1
        assert tasks.get(record["id"])["fields"]["Status"] == "Done"
        again = api.post(f"/api/proposals/{proposal_id}/confirm").json()
        assert again["already_done"] is True
        assert "undo it instead" in _error(api.post(f"/api/proposals/{proposal_id}/cancel"), 409)

        undone = api.post(f"/api/changes/{proposal_id}/undo", json={})
        assert undone.status_code == 200, undone.text
        assert tasks.get(record["id"])["fields"]["Status"] == "Todo"
        assert _error(api.post(f"/api/changes/{proposal_id}/undo", json={"force": 1}), 400)

    other = make_user(services, name="Stranger")
    with _client(server, services, other) as api:
        stranger = api.post(f"/api/proposals/{proposal_id}/confirm")
        assert stranger.status_code in {403, 404}


def test_proposal__cancelled_writes_nothing(
    app: tuple[AppServer, Services], gemini: FakeGeminiServer, airtable: EmulatorServer
) -> None:
    server, services = app
    user = make_user(services, name="Decliner")
    tasks = pyairtable.Api(DEV_TOKEN, endpoint_url=airtable.url).table(PROJECT_TRACKER_ID, "Tasks")
    record = tasks.first(formula="{Status}='Todo'")
    assert record is not None
    script_status_change(gemini, record["id"], "Done", reply="Proposed.", title="Maybe")
    with _client(server, services, user) as api:
        events = _ask(api, message="Mark it done", base_id=PROJECT_TRACKER_ID)
        proposal_id = next(data for kind, data in events if kind == "proposal")["proposal_id"]
        cancelled = api.post(f"/api/proposals/{proposal_id}/cancel")
        assert cancelled.json() == {"proposal_id": proposal_id, "state": "cancelled"}
        assert _error(api.post(f"/api/proposals/{proposal_id}/confirm"), 404)
    assert tasks.get(record["id"])["fields"]["Status"] == "Todo"


def test_metrics__refuse_anonymous_and_members_and_admit_admins(
    app: tuple[AppServer, Services],
) -> None:
    server, services = app
    url = f"{server.url}/api/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    member = make_user(services, name="Member")
    member_token = services.api_tokens.create(user_id=member.id, name="m").token
    refused = httpx.get(url, headers={"Authorization": f"Bearer {member_token}"})
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "forbidden"
    admin = make_user(services, role=Role.ADMIN, name="Admin")
    admin_token = services.api_tokens.create(user_id=admin.id, name="a").token
    text = _scrape(server.url, admin_token)
    assert _value(text, "pa_sql_up") == 1
    assert _value(text, "pa_redis_up") == 1
    assert 'process="' in text


def test_metrics__count_a_turn_a_refusal_and_a_workflow_run_once_each(
    app: tuple[AppServer, Services], gemini: FakeGeminiServer, tmp_path: Path
) -> None:
    server, services = app
    user = make_user(services, name="Counted")
    before = _scrape(server.url)

    gemini.script(ScriptedReply(text="Hello."), ScriptedReply(text="Greeting"))
    with _client(server, services, user) as api:
        events = _ask(api, message="Say hello")
    assert events[-1][0] == "done"
    after_turn = _scrape(server.url)
    turns = "pa_conversation_turns_total"
    assert _value(after_turn, turns, outcome="ok") - _value(before, turns, outcome="ok") == 1
    chats = "pa_http_requests_total"
    assert (
        _value(after_turn, chats, route="/api/chat", status="200")
        - _value(before, chats, route="/api/chat", status="200")
        == 1
    )
    calls = "pa_model_calls_total"
    assert _value(after_turn, calls, purpose="chat") - _value(before, calls, purpose="chat") == 1
    assert _value(after_turn, calls, purpose="title") - _value(before, calls, purpose="title") == 1
    assert _value(after_turn, "pa_model_tokens_total") > _value(before, "pa_model_tokens_total")
    assert (
        _value(after_turn, "pa_conversation_context_window_ratio_count")
        - _value(before, "pa_conversation_context_window_ratio_count")
        == 1
    )

    services.budget_guard.budgets.set_user_budget(
        user.id, BudgetOverrides(day_nusd=usd_to_nusd(0.001))
    )
    with _client(server, services, user) as api:
        refused = _ask(api, message="Say hello again")
    assert refused[-1] == ("error", refused[-1][1])
    assert refused[-1][1]["type"] == "rate_limited"
    after_refusal = _scrape(server.url)
    limit = "pa_budget_refusals_total"
    assert (
        _value(after_refusal, limit, limit="user_day_usd")
        - _value(after_turn, limit, limit="user_day_usd")
        == 1
    )
    assert _value(after_refusal, limit) - _value(after_turn, limit) == 1
    assert (
        _value(after_refusal, turns, outcome="error") - _value(after_turn, turns, outcome="error")
        == 1
    )

    # A workflow run, in a worker (this process) exposing its own series.
    workflow = services.workflows.create(
        user.id,
        {
            "name": f"Note {uuid.uuid4().hex[:6]}",
            "base": PROJECT_TRACKER_ID,
            "steps": [{"id": "tell", "type": "notify", "message": "hi"}],
        },
    )
    # The services here were built without METRICS_TOKEN: an admin's API token reads them.
    admin = make_user(services, role=Role.ADMIN, name="Scraper")
    admin_token = services.api_tokens.create(user_id=admin.id, name="scrape").token
    port = free_port()
    scrape = serve(services.metrics, services.metrics_access, "127.0.0.1", port)
    try:
        worker_url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{worker_url}/metrics").status_code == 401
        with in_process_worker(services):
            worker_before = _scrape(worker_url, admin_token, path="/metrics")
            with _client(server, services, user) as api:
                started = api.post(f"/api/workflows/{workflow.id}/runs", json={"inputs": {}})
            assert started.status_code == 202, started.text
            run = wait_for_run(services, started.json()["run_id"])
            assert run.status == "succeeded"
            worker_after = _scrape(worker_url, admin_token, path="/metrics")
    finally:
        scrape.shutdown()
    runs = "pa_workflow_runs_total"
    assert (
        _value(worker_after, runs, status="succeeded")
        - _value(worker_before, runs, status="succeeded")
        == 1
    )
    steps = "pa_workflow_step_seconds_count"
    assert (
        _value(worker_after, steps, kind="wf.step") - _value(worker_before, steps, kind="wf.step")
        == 1
    )
