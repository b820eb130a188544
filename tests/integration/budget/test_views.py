"""Ledger figures joined to titles and owners, as the Costs page shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.budget.reports import DELETED_USER
from services.budget.views import top_conversations
from services.container import Services
from services.orm import User
from tests.integration.budget.guard_setup import add_user
from tests.integration.budget.test_reports import _row, _seed

pytestmark = pytest.mark.sql


def test_top_conversations__titled_and_owned_or_shown_by_id(services: Services) -> None:
    owner = add_user(services)
    with services.sql() as session:
        user = session.get(User, owner)
        assert user is not None
        email = user.email
    kept = services.conversations.create(user_id=owner)
    services.conversations.rename(user_id=owner, conversation_id=kept.id, title="Q3 plan")
    now = datetime.now(UTC)
    gone = f"gone-{kept.id}"
    _seed(
        services,
        [
            _row(owner, now, 3_000, ref_type="conversation", ref_id=kept.id),
            _row(owner, now, 2_000, ref_type="conversation", ref_id=gone),
            _row(None, now, 1_000, ref_type="conversation", ref_id=f"orphan-{kept.id}"),
        ],
    )

    rows = top_conversations(
        services.sql,
        services.conversations,
        {owner: email},
        start=now - timedelta(minutes=1),
        end=now + timedelta(minutes=1),
    )

    ours = [(r.title, r.owner, r.spend.cost_nusd) for r in rows if kept.id in r.spend.ref_id]
    assert ours == [
        ("Q3 plan", email, 3_000),
        (gone, email, 2_000),
        (f"orphan-{kept.id}", DELETED_USER, 1_000),
    ]
