"""The workflow library: definitions in SQL with versions, owned, private or shared,
enabled or not. Every definition saved is parsed and checked first (`validation.py`):
a refused one saves nothing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.errors import InvalidInputError, NotAllowedError, NotFoundError
from services.workflows.definition import WorkflowDefinition
from services.workflows.orm import Workflow, WorkflowVersion
from services.workflows.parsing import definition_from_data, parse_definition
from services.workflows.types import Actor, VersionInfo, WorkflowInfo

logger = logging.getLogger(__name__)

# Checks a parsed definition for its owner against the base (tables, fields), templates,
# step references and schedules; raises WorkflowDefinitionError. See validation.py.
DefinitionCheck = Callable[[int, WorkflowDefinition], None]
DefinitionInput = WorkflowDefinition | str | Mapping[str, Any]
# Told after a workflow is saved, enabled, disabled or deleted (schedules follow it).
ChangeListener = Callable[[str], None]


class WorkflowLibrary:
    """Create, version, share, enable and delete workflows; read the ones a user may see."""

    def __init__(self, sessions: sessionmaker[Session], check: DefinitionCheck) -> None:
        self._db = sessions
        self._check = check
        self._listeners: list[ChangeListener] = []

    def on_change(self, listener: ChangeListener) -> None:
        """Call `listener(workflow_id)` after every change (the schedules subscribe)."""
        self._listeners.append(listener)

    def parse(self, text: str) -> WorkflowDefinition:
        """A definition from YAML or JSON text; format only, no base checks.

        Raises:
            WorkflowDefinitionError: the message names the step, the field and the line.
        """
        return parse_definition(text)

    def validate(self, user_id: int, definition: DefinitionInput) -> WorkflowDefinition:
        """Parse (if text) and check a definition against `user_id`'s bases, without saving.

        Raises:
            WorkflowDefinitionError: unknown table or field, template error, reference to a
                later or unknown step, bad cron or timezone (naming step and field).
        """
        parsed = _parsed(definition)
        self._check(user_id, parsed)
        return parsed

    def create(
        self, user_id: int, definition: DefinitionInput, *, shared: bool = False
    ) -> WorkflowInfo:
        """Save a new workflow (version 1, disabled until enabled).

        Raises:
            WorkflowDefinitionError: the definition is refused; nothing is saved.
            InvalidInputError: the owner already has a workflow of that name.
        """
        parsed = self.validate(user_id, definition)
        now = datetime.now(UTC)
        workflow_id = f"wf_{secrets.token_hex(8)}"
        try:
            with self._db.begin() as session:
                session.add(
                    Workflow(
                        id=workflow_id,
                        owner_id=user_id,
                        name=parsed.name,
                        description=parsed.description,
                        shared=shared,
                        enabled=False,
                        current_version=1,
                        trigger=parsed.trigger_kind,
                        created_at=now,
                        updated_at=now,
                    )
                )
                session.flush()
                session.add(_version_row(workflow_id, 1, parsed, user_id, now))
        except IntegrityError:
            raise InvalidInputError(f'You already have a workflow named "{parsed.name}".') from None
        logger.info("workflow %s created by user %s", workflow_id, user_id)
        self._changed(workflow_id)
        return self.get(_Owner(user_id), workflow_id)

    def update(self, user: Actor, workflow_id: str, definition: DefinitionInput) -> VersionInfo:
        """Save a new version; it becomes the current one (runs started before keep theirs).

        Raises:
            WorkflowDefinitionError: refused; nothing is saved.
            NotAllowedError: only the owner edits a workflow.
        """
        parsed = self.validate(user.id, definition)
        now = datetime.now(UTC)
        try:
            with self._db.begin() as session:
                row = _owned(session, user, workflow_id)
                row.current_version += 1
                row.name, row.description = parsed.name, parsed.description
                row.trigger, row.updated_at = parsed.trigger_kind, now
                session.add(_version_row(workflow_id, row.current_version, parsed, user.id, now))
                number = row.current_version
        except IntegrityError:
            raise InvalidInputError(f'You already have a workflow named "{parsed.name}".') from None
        self._changed(workflow_id)
        return self.version(user, workflow_id, number)

    def delete(self, user: Actor, workflow_id: str) -> None:
        """Delete a workflow, its versions and its runs' records (owner or admin)."""
        with self._db.begin() as session:
            session.delete(_owned(session, user, workflow_id, admin_may=True))
        self._changed(workflow_id)

    def set_enabled(self, user: Actor, workflow_id: str, enabled: bool) -> WorkflowInfo:
        """Enable or disable its trigger (a schedule fires only while enabled)."""
        with self._db.begin() as session:
            row = _owned(session, user, workflow_id, admin_may=True)
            row.enabled, row.updated_at = enabled, datetime.now(UTC)
        self._changed(workflow_id)
        return self.get(user, workflow_id)

    def share(self, user: Actor, workflow_id: str, shared: bool) -> WorkflowInfo:
        """Make it visible (and runnable) to everyone, or private to its owner again."""
        with self._db.begin() as session:
            row = _owned(session, user, workflow_id)
            row.shared, row.updated_at = shared, datetime.now(UTC)
        return self.get(user, workflow_id)

    def list_for(self, user: Actor) -> list[WorkflowInfo]:
        """The user's workflows and shared ones (admins: all), by name."""
        with self._db() as session:
            query = select(Workflow).order_by(Workflow.name, Workflow.id)
            if not user.is_admin:
                query = query.where((Workflow.owner_id == user.id) | Workflow.shared)
            rows = list(session.scalars(query))
            return [_info(session, row) for row in rows]

    def get(self, user: Actor, workflow_id: str) -> WorkflowInfo:
        """One workflow the user may see.

        Raises:
            NotFoundError: none with this ID, or not visible to them.
        """
        with self._db() as session:
            return _info(session, _visible(session, user, workflow_id))

    def find_by_name(self, user: Actor, name: str) -> WorkflowInfo | None:
        """The user's own workflow of that name, else a visible one (case-insensitive)."""
        wanted = name.strip().lower()
        matches = [w for w in self.list_for(user) if w.name.lower() == wanted]
        matches.sort(key=lambda w: w.owner_id != user.id)
        return matches[0] if matches else None

    def versions(self, user: Actor, workflow_id: str) -> list[VersionInfo]:
        """Every version, newest first."""
        with self._db() as session:
            _visible(session, user, workflow_id)
            rows = session.scalars(
                select(WorkflowVersion)
                .where(WorkflowVersion.workflow_id == workflow_id)
                .order_by(WorkflowVersion.number.desc())
            )
            return [_version_info(r) for r in rows]

    def version(self, user: Actor, workflow_id: str, number: int | None = None) -> VersionInfo:
        """One version (the current one when `number` is None)."""
        with self._db() as session:
            row = _visible(session, user, workflow_id)
            return _version_info(_version(session, workflow_id, number or row.current_version))

    def definition_of(self, workflow_id: str, number: int) -> WorkflowDefinition:
        """A version's definition, for the engine (no visibility check: runs are owned)."""
        with self._db() as session:
            return _version_info(_version(session, workflow_id, number)).definition

    def scheduled(self) -> list[WorkflowInfo]:
        """Enabled workflows with a schedule trigger (what the worker's scheduler fires)."""
        with self._db() as session:
            rows = session.scalars(
                select(Workflow).where(Workflow.enabled, Workflow.trigger == "schedule")
            )
            return [_info(session, row) for row in list(rows)]

    def record_triggered(self, owner_id: int | None = None) -> list[WorkflowInfo]:
        """Enabled workflows with a record trigger (what the Airtable webhooks serve)."""
        with self._db() as session:
            query = select(Workflow).where(Workflow.enabled, Workflow.trigger == "record")
            if owner_id is not None:
                query = query.where(Workflow.owner_id == owner_id)
            return [_info(session, row) for row in list(session.scalars(query))]

    def _changed(self, workflow_id: str) -> None:
        for listener in self._listeners:
            listener(workflow_id)


class _Owner:
    """The owner as an actor, right after creating their workflow."""

    def __init__(self, user_id: int) -> None:
        self.id = user_id
        self.is_admin = False


def _parsed(definition: DefinitionInput) -> WorkflowDefinition:
    if isinstance(definition, WorkflowDefinition):
        return definition
    if isinstance(definition, str):
        return parse_definition(definition)
    return definition_from_data(definition)


def _version_row(
    workflow_id: str, number: int, parsed: WorkflowDefinition, author: int, now: datetime
) -> WorkflowVersion:
    return WorkflowVersion(
        workflow_id=workflow_id,
        number=number,
        definition=parsed.to_data(),
        author_id=author,
        created_at=now,
    )


def _visible(session: Session, user: Actor, workflow_id: str) -> Workflow:
    row = session.get(Workflow, workflow_id)
    if row is None or not (row.owner_id == user.id or row.shared or user.is_admin):
        raise NotFoundError("There is no workflow with this ID.")
    return row


def _owned(session: Session, user: Actor, workflow_id: str, *, admin_may: bool = False) -> Workflow:
    row = _visible(session, user, workflow_id)
    if row.owner_id != user.id and not (admin_may and user.is_admin):
        raise NotAllowedError("Only its owner can change this workflow.")
    return row


def _version(session: Session, workflow_id: str, number: int) -> WorkflowVersion:
    row = session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.number == number
        )
    )
    if row is None:
        raise NotFoundError(f"This workflow has no version {number}.")
    return row


def _stored_definition(data: Mapping[str, Any]) -> WorkflowDefinition:
    # Versions saved before `to_data` kept the trigger's kind stored a webhook trigger as
    # `{}` (its one field was a default); a manual trigger was left out, so `{}` is a webhook.
    if data.get("trigger") == {}:
        data = {**data, "trigger": {"webhook": {}}}
    return WorkflowDefinition.model_validate(data)


def _version_info(row: WorkflowVersion) -> VersionInfo:
    return VersionInfo(
        workflow_id=row.workflow_id,
        number=row.number,
        definition=_stored_definition(row.definition),
        author_id=row.author_id,
        created_at=row.created_at,
    )


def _info(session: Session, row: Workflow) -> WorkflowInfo:
    current = _version(session, row.id, row.current_version)
    return WorkflowInfo(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        description=row.description,
        shared=row.shared,
        enabled=row.enabled,
        version=row.current_version,
        trigger=row.trigger,
        definition=_stored_definition(current.definition),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
