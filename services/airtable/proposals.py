"""Write proposals: the exact change a tool wants to make, kept in Redis until confirmed.

A proposal lists every record it would create, update or delete with the before and after
value of every field it touches (keyed by field ID, so a rename cannot redirect it). It
expires after a while; nothing is written until `ChangeLog.apply` is called for it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import redis

from services.errors import NotAllowedError, NotFoundError

RecordAction = Literal["create", "update", "delete"]
ProposalAction = Literal["create", "update", "upsert", "delete"]


@dataclass(frozen=True)
class PlannedChange:
    """One record's change. `record_id` is None for a record still to be created."""

    action: RecordAction
    record_id: str | None
    label: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    """A change set waiting for the person's confirmation."""

    id: str
    user_id: int
    base_id: str
    table_id: str
    table_name: str
    action: ProposalAction
    changes: list[PlannedChange]
    field_names: dict[str, str]
    created_at: datetime
    expires_at: datetime
    conversation_id: str | None = None

    def counts(self) -> dict[str, int]:
        """How many records each action touches: {"create": n, "update": n, "delete": n}."""
        counts = {"create": 0, "update": 0, "delete": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    @property
    def expired(self) -> bool:
        return datetime.now(UTC) >= self.expires_at

    def to_artifact(self, *, max_changes: int = 200) -> dict[str, Any]:
        """What the UI renders as a diff card (field names, not IDs)."""
        names = self.field_names
        return {
            "kind": "proposal",
            "proposal_id": self.id,
            "base_id": self.base_id,
            "table_id": self.table_id,
            "table": self.table_name,
            "action": self.action,
            "counts": self.counts(),
            "expires_at": self.expires_at.isoformat(),
            "changes": [
                {
                    "action": c.action,
                    "record_id": c.record_id,
                    "label": c.label,
                    "before": {names.get(k, k): v for k, v in c.before.items()},
                    "after": {names.get(k, k): v for k, v in c.after.items()},
                }
                for c in self.changes[:max_changes]
            ],
            "more_changes": max(0, len(self.changes) - max_changes),
        }

    def to_json(self) -> str:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["expires_at"] = self.expires_at.isoformat()
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Proposal:
        data = json.loads(raw)
        data["changes"] = [PlannedChange(**c) for c in data["changes"]]
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        data["expires_at"] = datetime.fromisoformat(data["expires_at"])
        return cls(**data)


def new_id(prefix: str) -> str:
    """A fresh change set ID such as `prop_1f2e3d4c5b6a7988` (short enough to quote back)."""
    return f"{prefix}_{secrets.token_hex(8)}"


class ProposalStore:
    """Proposals in Redis under the app's prefix, each expiring with its TTL."""

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self._redis = client
        self._prefix = f"{prefix}airtable:proposal:"

    def save(self, proposal: Proposal) -> None:
        ttl = max(1, int((proposal.expires_at - datetime.now(UTC)).total_seconds()))
        self._redis.set(self._prefix + proposal.id, proposal.to_json(), ex=ttl)

    def load(self, proposal_id: str, user_id: int) -> Proposal:
        """The user's proposal.

        Raises:
            NotFoundError: unknown, expired, applied or cancelled.
            NotAllowedError: it belongs to someone else.
        """
        raw = self._redis.get(self._prefix + proposal_id)
        if raw is None:
            raise NotFoundError(
                "This proposed change has expired or was already handled; ask for it again."
            )
        proposal = Proposal.from_json(raw)
        if proposal.user_id != user_id:
            raise NotAllowedError("This proposed change belongs to someone else.")
        if proposal.expired:
            raise NotFoundError("This proposed change has expired; ask for it again.")
        return proposal

    def discard(self, proposal_id: str) -> bool:
        """Forget a proposal; True when there was one."""
        return bool(self._redis.delete(self._prefix + proposal_id))
