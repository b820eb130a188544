"""PromptLibrary: create, version, publish, share, list, import/export and render prompts.

Every method takes the acting user's ID; a prompt is visible to its owner and, once shared,
to everyone; only its owner changes it.
"""

from __future__ import annotations

import difflib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from services.airtable.gateway import AirtableGateway
from services.errors import InvalidInputError, NotAllowedError, NotFoundError
from services.orm import User
from services.prompts.orm import Prompt, PromptRun, PromptVersion
from services.prompts.variables import Variable, check_definitions, render, validate_inputs

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "pyairtable-assistant/prompt@1"
MAX_TEMPLATE = 20_000


class RunMode(StrEnum):
    TEXT = "text"  # plain text generation
    TOOLS = "tools"  # through the agent, with the Airtable tools


@dataclass(frozen=True)
class PromptDraft:
    """What a person edits; saving it makes a new version."""

    name: str
    template: str
    variables: list[Variable]
    mode: RunMode = RunMode.TEXT
    description: str = ""
    base_id: str = ""


@dataclass(frozen=True)
class PromptInfo:
    id: str
    owner_id: int
    name: str
    description: str
    shared: bool
    published_version: int | None
    latest_version: int


@dataclass(frozen=True)
class VersionInfo:
    prompt_id: str
    number: int
    template: str
    variables: list[Variable]
    mode: RunMode
    base_id: str


@dataclass(frozen=True)
class RenderedPrompt:
    """A run's text; `base_id` is the base it works on (a base picker's, or the prompt's)."""

    version: VersionInfo
    inputs: dict[str, str]
    text: str
    base_id: str


@dataclass(frozen=True)
class UserLookups:
    """`AirtableLookups` for one user, through the gateway (its checks and caches)."""

    gateway: AirtableGateway
    user_id: int

    def bases(self) -> dict[str, str]:
        return {b.id: b.name for b in self.gateway.bases(self.user_id)}

    def tables(self, base_id: str) -> list[str]:
        return [t.name for t in self.gateway.schema(self.user_id, base_id).tables]

    def choices(self, base_id: str, table: str, field: str) -> list[str]:
        options = self.gateway.schema(self.user_id, base_id).table(table).field(field).choices
        if not options:
            raise InvalidInputError(f"Field {table}.{field} has no options to choose from.")
        return options


class PromptLibrary:
    """Saved prompts in SQL; field options come from the Airtable gateway's schema."""

    def __init__(self, sessions: sessionmaker[Session], gateway: AirtableGateway) -> None:
        self._sessions = sessions
        self._gateway = gateway

    def create(self, *, user_id: int, draft: PromptDraft) -> PromptInfo:
        """A new private prompt whose version 1 is published."""
        _check(draft)
        with self._sessions.begin() as session:
            prompt = Prompt(
                id=uuid.uuid4().hex,
                owner_id=user_id,
                name=draft.name.strip(),
                description=draft.description.strip(),
                shared=False,
                published_version=1,
            )
            session.add(prompt)
            session.flush()
            session.add(_version(prompt.id, 1, draft))
            logger.info("prompt %s created by %s", prompt.id, user_id)
        return self.get(user_id=user_id, prompt_id=prompt.id)

    def update(self, *, user_id: int, prompt_id: str, draft: PromptDraft) -> VersionInfo:
        """Save `draft` as the next version; the published version stays until `publish`."""
        _check(draft)
        with self._sessions.begin() as session:
            prompt = _owned(session, user_id, prompt_id)
            number = _latest(session, prompt_id) + 1
            prompt.name, prompt.description = draft.name.strip(), draft.description.strip()
            prompt.updated_at = datetime.now(UTC)
            session.add(_version(prompt_id, number, draft))
        return self.version(user_id=user_id, prompt_id=prompt_id, number=number)

    def publish(self, *, user_id: int, prompt_id: str, number: int) -> None:
        with self._sessions.begin() as session:
            prompt = _owned(session, user_id, prompt_id)
            if _find_version(session, prompt_id, number) is None:
                raise NotFoundError(f"Version {number} of this prompt does not exist.")
            prompt.published_version = number

    def share(self, *, user_id: int, prompt_id: str, everyone: bool) -> None:
        """Share with everyone, or make private again."""
        with self._sessions.begin() as session:
            _owned(session, user_id, prompt_id).shared = everyone

    def delete(self, *, user_id: int, prompt_id: str) -> None:
        with self._sessions.begin() as session:
            _owned(session, user_id, prompt_id)
            for model in (PromptRun, PromptVersion):
                for row in session.scalars(select(model).where(model.prompt_id == prompt_id)):
                    session.delete(row)
            session.flush()
            session.delete(session.get(Prompt, prompt_id))

    def visible(self, *, user_id: int) -> list[PromptInfo]:
        """The user's own prompts and those shared with everyone, by name."""
        query = (
            select(Prompt)
            .where(or_(Prompt.owner_id == user_id, Prompt.shared.is_(True)))
            .order_by(Prompt.name, Prompt.created_at)
        )
        with self._sessions() as session:
            return [_info(session, p) for p in session.scalars(query)]

    def find_by_name(self, *, user_id: int, name: str) -> PromptInfo | None:
        wanted = name.strip().casefold()
        found = [p for p in self.visible(user_id=user_id) if p.name.casefold() == wanted]
        return next((p for p in found if p.owner_id == user_id), found[0] if found else None)

    def get(self, *, user_id: int, prompt_id: str) -> PromptInfo:
        with self._sessions() as session:
            return _info(session, _visible(session, user_id, prompt_id))

    def version(self, *, user_id: int, prompt_id: str, number: int | None = None) -> VersionInfo:
        """One version (the published one by default) of a prompt the user can see."""
        with self._sessions() as session:
            prompt = _visible(session, user_id, prompt_id)
            wanted = number or prompt.published_version or _latest(session, prompt_id)
            row = _find_version(session, prompt_id, wanted)
            if row is None:
                raise NotFoundError(f"Version {wanted} of this prompt does not exist.")
            return _version_info(row)

    def versions(self, *, user_id: int, prompt_id: str) -> list[int]:
        with self._sessions() as session:
            _visible(session, user_id, prompt_id)
            query = select(PromptVersion.number).where(PromptVersion.prompt_id == prompt_id)
            return sorted(session.scalars(query))

    def choices(self, user_id: int, base_id: str, table: str, field: str) -> list[str]:
        """The options of an Airtable select field, read from the base's schema."""
        return UserLookups(self._gateway, user_id).choices(base_id, table, field)

    def render(
        self, *, user_id: int, prompt_id: str, values: dict[str, Any], today: date | None = None
    ) -> RenderedPrompt:
        """The published version filled with validated `values` and the built-ins."""
        version = self.version(user_id=user_id, prompt_id=prompt_id)
        inputs = validate_inputs(
            version.variables,
            values,
            UserLookups(self._gateway, user_id),
            base_id=version.base_id,
        )
        with self._sessions() as session:
            user = session.get(User, user_id)
            user_name = (user.display_name or user.email) if user else ""
        text = render(
            version.template,
            inputs.values,
            today=today or datetime.now(UTC).date(),
            user_name=user_name,
        )
        return RenderedPrompt(version, inputs.values, text, inputs.base_id)

    def export_json(self, *, user_id: int, prompt_id: str) -> str:
        """The prompt's published version as portable JSON."""
        info = self.get(user_id=user_id, prompt_id=prompt_id)
        version = self.version(user_id=user_id, prompt_id=prompt_id)
        payload = {
            "format": EXPORT_FORMAT,
            "name": info.name,
            "description": info.description,
            "template": version.template,
            "mode": version.mode.value,
            "base_id": version.base_id,
            "variables": [v.to_json() for v in version.variables],
        }
        return json.dumps(payload, indent=2, ensure_ascii=False)

    def import_json(self, *, user_id: int, text: str) -> PromptInfo:
        """A new private prompt of the user's from `export_json` output."""
        try:
            data = json.loads(text)
        except ValueError:
            raise InvalidInputError("Import file: this is not valid JSON.") from None
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise InvalidInputError("Import file: this is not an exported prompt.")
        try:
            mode = RunMode(str(data.get("mode", RunMode.TEXT.value)))
        except ValueError:
            raise InvalidInputError(f'Run mode: "{data.get("mode")}" is not a run mode.') from None
        draft = PromptDraft(
            name=str(data.get("name", "")),
            template=str(data.get("template", "")),
            variables=[Variable.from_json(v) for v in data.get("variables") or []],
            mode=mode,
            description=str(data.get("description", "")),
            base_id=str(data.get("base_id") or ""),
        )
        return self.create(user_id=user_id, draft=draft)


def compare_versions(old: VersionInfo, new: VersionInfo) -> str:
    """A unified diff of two versions: settings, variables (one a line), then the template.

    Empty when they do not differ.
    """
    return "".join(
        difflib.unified_diff(
            _diff_lines(old),
            _diff_lines(new),
            fromfile=f"version {old.number}",
            tofile=f"version {new.number}",
        )
    )


def _diff_lines(version: VersionInfo) -> list[str]:
    lines = [f"run as: {version.mode.value}", f"base: {version.base_id or '(none)'}"]
    for var in version.variables:
        details = {
            "options": ", ".join(var.options),
            "field": f"{var.table}.{var.field}" if var.table else "",
            "label": var.label,
        }
        shown = "; ".join(f"{k}: {v}" for k, v in details.items() if v)
        lines.append(f"variable {var.name} ({var.type.value})" + (f" {shown}" if shown else ""))
    lines += ["template:", *version.template.splitlines()]
    return [line + "\n" for line in lines]


def _check(draft: PromptDraft) -> None:
    if not draft.name.strip() or len(draft.name.strip()) > 80:
        raise InvalidInputError("Name: enter a name of 1 to 80 characters.")
    if not draft.template.strip() or len(draft.template) > MAX_TEMPLATE:
        raise InvalidInputError(f"Template: write 1 to {MAX_TEMPLATE} characters.")
    check_definitions(draft.template, draft.variables, base_id=draft.base_id)


def _version(prompt_id: str, number: int, draft: PromptDraft) -> PromptVersion:
    return PromptVersion(
        prompt_id=prompt_id,
        number=number,
        template=draft.template,
        variables=[v.to_json() for v in draft.variables],
        mode=draft.mode.value,
        base_id=draft.base_id or None,
    )


def _version_info(row: PromptVersion) -> VersionInfo:
    return VersionInfo(
        prompt_id=row.prompt_id,
        number=row.number,
        template=row.template,
        variables=[Variable.from_json(v) for v in row.variables],
        mode=RunMode(row.mode),
        base_id=row.base_id or "",
    )


def _visible(session: Session, user_id: int, prompt_id: str) -> Prompt:
    prompt = session.get(Prompt, prompt_id)
    if prompt is None or (prompt.owner_id != user_id and not prompt.shared):
        raise NotFoundError("That prompt does not exist or is not shared with you.")
    return prompt


def _owned(session: Session, user_id: int, prompt_id: str) -> Prompt:
    prompt = _visible(session, user_id, prompt_id)
    if prompt.owner_id != user_id:
        raise NotAllowedError("Only the prompt's owner can change it.")
    return prompt


def _find_version(session: Session, prompt_id: str, number: int) -> PromptVersion | None:
    query = select(PromptVersion).where(
        PromptVersion.prompt_id == prompt_id, PromptVersion.number == number
    )
    return session.scalars(query).first()


def _latest(session: Session, prompt_id: str) -> int:
    query = select(PromptVersion.number).where(PromptVersion.prompt_id == prompt_id)
    return max(session.scalars(query), default=0)


def _info(session: Session, prompt: Prompt) -> PromptInfo:
    return PromptInfo(
        id=prompt.id,
        owner_id=prompt.owner_id,
        name=prompt.name,
        description=prompt.description,
        shared=prompt.shared,
        published_version=prompt.published_version,
        latest_version=_latest(session, prompt.id),
    )
