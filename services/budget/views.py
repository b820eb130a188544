"""Ledger figures joined to what people recognise, for the pages to render as they are.

The most expensive conversations and prompt runs come with their title and their owner's
email; a chat turn's cost is the sum of the ledger rows of the model calls that produced
it (by request id), the same figures the cost reports add up.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.budget.orm import LedgerEntry
from services.budget.reports import DELETED_USER, RefSpend, ref_owners, top_refs
from services.budget.types import RefType
from services.conversations import ConversationStore
from services.errors import NotFoundError
from services.prompts.runs import PromptRunStore


@dataclass(frozen=True)
class NamedRefSpend:
    """A conversation's or prompt run's spend, with its title and its owner's email.

    `title` is the conversation's title or the prompt's name; the id when it is gone.
    """

    title: str
    owner: str
    spend: RefSpend


@dataclass(frozen=True)
class CallCost:
    """What one or more model calls cost, as the ledger recorded them."""

    tokens: int
    cost_nusd: int


def top_conversations(
    sessions: sessionmaker[Session],
    conversations: ConversationStore,
    emails: Mapping[int, str],
    *,
    start: datetime,
    end: datetime,
) -> list[NamedRefSpend]:
    """The most expensive conversations in `[start, end)`, titled and with their owner.

    `emails` names the users by id (the page reads them once for all its tables).
    """
    rows = top_refs(sessions, ref_type=RefType.CONVERSATION.value, start=start, end=end)
    owners = ref_owners(
        sessions, ref_type=RefType.CONVERSATION.value, ref_ids=[r.ref_id for r in rows]
    )

    def title(row: RefSpend) -> str:
        user_id = owners.get(row.ref_id)
        if user_id is None:
            return row.ref_id
        try:
            return conversations.get(user_id=user_id, conversation_id=row.ref_id).title
        except NotFoundError:  # expired or deleted: the id is all there is
            return row.ref_id

    return [NamedRefSpend(title(r), _owner(owners, emails, r), r) for r in rows]


def top_prompt_runs(
    sessions: sessionmaker[Session],
    emails: Mapping[int, str],
    *,
    start: datetime,
    end: datetime,
) -> list[NamedRefSpend]:
    """The most expensive prompt runs in `[start, end)`, with the prompt's name and owner."""
    rows = top_refs(sessions, ref_type=RefType.RUN.value, start=start, end=end)
    ids = [r.ref_id for r in rows]
    owners = ref_owners(sessions, ref_type=RefType.RUN.value, ref_ids=ids)
    names = PromptRunStore(sessions).prompt_names(ids)
    return [
        NamedRefSpend(names.get(r.ref_id, r.ref_id), _owner(owners, emails, r), r) for r in rows
    ]


def _owner(owners: Mapping[str, int], emails: Mapping[int, str], row: RefSpend) -> str:
    user_id = owners.get(row.ref_id)
    return DELETED_USER if user_id is None else emails.get(user_id, DELETED_USER)


def call_costs(
    sessions: sessionmaker[Session], request_ids: Collection[str]
) -> dict[str, CallCost]:
    """The ledger's tokens and cost of each call in `request_ids` that has a row.

    A call still running, or refunded without a row, is left out.
    """
    if not request_ids:
        return {}
    query = select(
        LedgerEntry.request_id,
        LedgerEntry.input_tokens + LedgerEntry.output_tokens,
        LedgerEntry.cost_nusd,
    ).where(LedgerEntry.request_id.in_(list(request_ids)))
    with sessions() as session:
        return {
            str(request_id): CallCost(tokens=int(tokens), cost_nusd=int(cost))
            for request_id, tokens, cost in session.execute(query)
        }


def total_cost(costs: Mapping[str, CallCost], request_ids: Collection[str]) -> CallCost | None:
    """The sum of the calls of `request_ids` found in `costs`; None when none is."""
    found = [costs[r] for r in request_ids if r in costs]
    if not found:
        return None
    return CallCost(tokens=sum(c.tokens for c in found), cost_nusd=sum(c.cost_nusd for c in found))
