"""Turning mirrors on and off, and what the pages and the status check show of them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from services.airtable.connections import AirtableConnections, BaseInfo
from services.airtable.gateway import AirtableGateway
from services.errors import AppError, NotAllowedError
from services.listeners import ChangeListeners
from services.mirrors.queries import Freshness, freshness_of
from services.mirrors.registry import ORG_CONNECTION, BaseState, MirrorRegistry, TableState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BaseMirror:
    """One base as the Bases page shows it: its mirror (if any) and each table's state."""

    base: BaseInfo
    mirror: BaseState | None
    tables: list[TableState] = field(default_factory=list)
    table_names: dict[str, str] = field(default_factory=dict)  # every table of the base
    manageable: bool = False

    @property
    def enabled(self) -> bool:
        return self.mirror is not None and self.mirror.enabled


class Mirrors:
    """Who may mirror what, turning mirrors on and off, and their freshness."""

    def __init__(
        self,
        gateway: AirtableGateway,
        connections: AirtableConnections,
        registry: MirrorRegistry,
        *,
        default_bases: list[str],
        behind_after_seconds: float,
    ) -> None:
        self._gateway = gateway
        self._connections = connections
        self.registry = registry
        self._defaults = default_bases
        self._behind_after = behind_after_seconds
        self._listeners = ChangeListeners("mirror")

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` after mirrors are turned on or off (the Airtable webhooks follow)."""
        self._listeners.add(listener)

    def _changed(self) -> None:
        self._listeners.notify()

    def watched(self) -> set[tuple[int | None, str, str]]:
        """(owner or None for the org connection, base, table) of every mirrored table:
        Airtable webhooks keep them fresh within seconds, beside the sweep."""
        owners = {b.base_id: b.owner_id for b in self.registry.bases(enabled_only=True)}
        return {
            (owners[t.base_id], t.base_id, t.table_id)
            for t in self.registry.tables(enabled_only=True)
            if t.base_id in owners
        }

    def can_manage(self, user_id: int, *, is_admin: bool, base_id: str) -> bool:
        """Admins, and people whose own Airtable connection sees the base."""
        try:
            self._gateway.require_base(user_id, base_id)
        except AppError:
            return False
        return is_admin or self._connections.describe(user_id) is not None

    def overview(self, user_id: int, *, is_admin: bool) -> list[BaseMirror]:
        """The user's bases with their mirrors (only bases their connection sees)."""
        found = []
        for base in self._gateway.bases(user_id):
            mirror = self.registry.base(base.id)
            try:
                schema = self._gateway.schema(user_id, base.id)
                names = {t.id: t.name for t in schema.tables}
            except AppError:
                names = {}
            found.append(
                BaseMirror(
                    base,
                    mirror,
                    self.registry.tables(base.id) if mirror else [],
                    names,
                    is_admin or self._connections.describe(user_id) is not None,
                )
            )
        return found

    def turn_on(
        self, user_id: int, *, is_admin: bool, base_id: str, table_ids: list[str] | None = None
    ) -> int:
        """Mirror the whole base (`table_ids` None) or these tables; returns tables queued."""
        base = self._allowed(user_id, is_admin=is_admin, base_id=base_id)
        own = self._connections.describe(user_id) is not None
        schema = self._gateway.schema(user_id, base_id)
        wanted = [t for t in schema.tables if table_ids is None or t.id in table_ids]
        current = self.registry.base(base_id)
        whole = table_ids is None or (
            current is not None and current.all_tables and current.enabled
        )
        self.registry.set_base(
            base_id,
            name=base.name,
            owner_id=user_id if own else None,
            enabled=True,
            all_tables=whole,
        )
        queued = 0
        for table in wanted:
            queued += self.registry.set_table(base_id, table.id, name=table.name, enabled=True)
        logger.info("mirror of %s turned on by user %d: %d tables queued", base_id, user_id, queued)
        self._changed()
        return queued

    def turn_off(
        self, user_id: int, *, is_admin: bool, base_id: str, table_ids: list[str] | None = None
    ) -> None:
        """Stop mirroring the base, or only these tables (their copies stay until rebuilt)."""
        base = self._allowed(user_id, is_admin=is_admin, base_id=base_id)
        current = self.registry.base(base_id)
        if table_ids is None or current is None:
            self.registry.set_base(
                base_id,
                name=base.name,
                owner_id=current.owner_id if current else None,
                enabled=False,
                all_tables=current.all_tables if current else True,
            )
            self._changed()
            return
        if current.all_tables:
            self.registry.set_base(
                base_id,
                name=current.name,
                owner_id=current.owner_id,
                enabled=current.enabled,
                all_tables=False,
            )
        for table_id in table_ids:
            state = self.registry.table(base_id, table_id)
            self.registry.set_table(
                base_id, table_id, name=state.name if state else table_id, enabled=False
            )
        logger.info("mirror of %s tables turned off by user %d", base_id, user_id)
        self._changed()

    def ensure_defaults(self) -> list[str]:
        """Mirror the default (demo) bases the org connection sees, unless someone already
        decided about them; returns the bases turned on."""
        turned_on = []
        for base_id in self._defaults:
            if self.registry.base(base_id) is not None:
                continue
            try:
                base = self._gateway.require_base(ORG_CONNECTION, base_id)
                schema = self._gateway.schema(ORG_CONNECTION, base_id)
            except AppError:
                continue
            self.registry.set_base(
                base_id, name=base.name, owner_id=None, enabled=True, all_tables=True
            )
            for table in schema.tables:
                self.registry.set_table(base_id, table.id, name=table.name, enabled=True)
            turned_on.append(base_id)
        if turned_on:
            self._changed()
        return turned_on

    def freshness(self, base_id: str) -> Freshness:
        states = self.registry.tables(base_id, enabled_only=True)
        return freshness_of(states, behind_after=self._behind_after)

    def behind(self) -> list[TableState]:
        """Ready tables whose copy is older than it should ever be, or whose sweep fails."""
        late = []
        for state in self.registry.tables(enabled_only=True):
            if state.status == "failed" or (
                state.status == "ready"
                and freshness_of([state], behind_after=self._behind_after).behind
            ):
                late.append(state)
        return late

    def _allowed(self, user_id: int, *, is_admin: bool, base_id: str) -> BaseInfo:
        base = self._gateway.require_base(user_id, base_id)
        if not (is_admin or self._connections.describe(user_id) is not None):
            raise NotAllowedError(
                "Only an admin or someone with their own Airtable connection to this base "
                "can turn its mirror on or off."
            )
        return base
