"""A user reaches exactly the bases their own Airtable connection sees, for reads and writes."""

from __future__ import annotations

import pytest

from emulator.testing import EmulatorServer
from services.airtable.filters import Condition
from services.container import Services
from services.errors import NotAllowedError
from services.orm import User
from tests.conftest import LIMITED_PAT
from tests.integration.airtable.fixtures import FreshBase, emulator_stats

pytestmark = pytest.mark.sql
CRM, PROJECTS = "appDemoSalesCRM00", "appDemoProjects00"


@pytest.fixture
def limited(airtable_services: Services, member: User) -> User:
    airtable_services.airtable_connections.connect(actor_id=member.id, token=LIMITED_PAT)
    return member


def test_limited_user__sees_only_their_base(airtable_services: Services, limited: User) -> None:
    assert [b.id for b in airtable_services.airtable.bases(limited.id)] == [PROJECTS]
    page = airtable_services.airtable_records.search(limited.id, PROJECTS, "Tasks", limit=1)
    assert page.total == 5000


def test_limited_user__cannot_read_another_base_and_nothing_is_sent(
    airtable_services: Services, limited: User, airtable_emulator: EmulatorServer
) -> None:
    before = emulator_stats(airtable_emulator)["bases"].get(CRM, 0)
    records = airtable_services.airtable_records
    with pytest.raises(NotAllowedError, match="not available"):
        records.search(limited.id, CRM, "Deals")
    with pytest.raises(NotAllowedError):
        records.aggregate(limited.id, CRM, "Deals", metric="count")
    with pytest.raises(NotAllowedError):
        records.get_record(limited.id, CRM, "Deals", "recAAAAAAAAAAAAAA")
    with pytest.raises(NotAllowedError):
        airtable_services.airtable.schema(limited.id, CRM)
    assert emulator_stats(airtable_emulator)["bases"].get(CRM, 0) == before


def test_limited_user__cannot_propose_or_apply_writes_on_another_base(
    airtable_services: Services, limited: User, airtable_emulator: EmulatorServer
) -> None:
    before = emulator_stats(airtable_emulator)["bases"].get(CRM, 0)
    proposals = airtable_services.airtable_proposals
    with pytest.raises(NotAllowedError):
        proposals.create(limited.id, CRM, "Deals", [{"Name": "Sneaky"}])
    with pytest.raises(NotAllowedError):
        proposals.update(
            limited.id,
            CRM,
            "Deals",
            filters=[Condition(field="Stage", op="equals", value="Lead")],
            values={"Stage": "Closed Won"},
        )
    with pytest.raises(NotAllowedError):
        proposals.delete(limited.id, CRM, "Deals", record_ids=["recAAAAAAAAAAAAAA"])
    assert emulator_stats(airtable_emulator)["bases"].get(CRM, 0) == before


def test_proposal__made_while_allowed_is_refused_once_access_is_gone(
    airtable_services: Services, member: User, fresh_base: FreshBase
) -> None:
    before = fresh_base.snapshot()
    proposal = airtable_services.airtable_proposals.create(
        member.id, fresh_base.id, "Tasks", [{"Name": "Later"}]
    )
    airtable_services.airtable_connections.connect(actor_id=member.id, token=LIMITED_PAT)
    with pytest.raises(NotAllowedError):
        airtable_services.airtable_changes.apply(proposal.id, member.id)
    assert fresh_base.snapshot() == before
