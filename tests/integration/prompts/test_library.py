"""PromptLibrary against real SQL and the emulator's schema: validation, versions, sharing."""

from __future__ import annotations

from datetime import date

import pytest

from emulator.seed import PROJECT_TRACKER_ID
from emulator.seed_crm import SALES_CRM_ID
from services.errors import InvalidInputError, NotAllowedError, NotFoundError
from services.orm import User
from services.prompts.library import PromptDraft, PromptLibrary, RunMode, compare_versions
from services.prompts.variables import Variable, VariableType

pytestmark = pytest.mark.sql

STATUS = Variable(
    "status",
    VariableType.FIELD_OPTIONS,
    base_id=PROJECT_TRACKER_ID,
    table="Tasks",
    field="Status",
)
DUE = Variable("due", VariableType.DATE, label="Due date")
COUNT = Variable("count", VariableType.NUMBER)
TONE = Variable("tone", VariableType.SELECT, options=["short", "friendly"])
TEMPLATE = (
    "Hi, I am {{user_name}}. On {{today}} list {{count}} {{status}} tasks due {{due}}, {{tone}}."
)


def _draft(name: str = "Weekly tasks", template: str = TEMPLATE) -> PromptDraft:
    return PromptDraft(name=name, template=template, variables=[STATUS, DUE, COUNT, TONE])


def _values(**changes: str) -> dict[str, str]:
    return {"status": "Done", "due": "2026-12-01", "count": "3", "tone": "short", **changes}


def test_render__fills_variables_and_built_ins(library: PromptLibrary, ana: User) -> None:
    prompt = library.create(user_id=ana.id, draft=_draft())
    rendered = library.render(
        user_id=ana.id, prompt_id=prompt.id, values=_values(), today=date(2026, 11, 26)
    )
    assert rendered.text == (
        "Hi, I am ana@example.com. On 2026-11-26 list 3 Done tasks due 2026-12-01, short."
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": "three"}, 'Count must be a number, not "three".'),
        ({"count": "1e400"}, "Count must be between -1,000,000,000,000,000 and 1,000,000,"),
        ({"count": "99999999999999999999"}, "Count must be between -1,000,000,000,000,000"),
        ({"count": "inf"}, 'Count must be a number, not "inf".'),
        ({"count": "nan"}, 'Count must be a number, not "nan".'),
        ({"due": "next week"}, "Due date must be a date like"),
        ({"tone": "angry"}, '"angry" is not an option of Tone'),
        ({"status": "Finished"}, '"Finished" is not an option of Status'),
        ({"due": ""}, "Due date is required."),
    ],
)
def test_render__refuses_bad_input_with_a_clear_message(
    library: PromptLibrary, ana: User, changes: dict[str, str], message: str
) -> None:
    prompt = library.create(user_id=ana.id, draft=_draft())
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(")):
        library.render(user_id=ana.id, prompt_id=prompt.id, values=_values(**changes))


def test_create__refuses_undeclared_variables(library: PromptLibrary, ana: User) -> None:
    with pytest.raises(InvalidInputError, match="undeclared variables: missing"):
        library.create(user_id=ana.id, draft=_draft(template="{{missing}} {{status}}"))
    assert library.visible(user_id=ana.id) == []


def test_choices__come_from_the_airtable_field(library: PromptLibrary, ana: User) -> None:
    choices = library.choices(ana.id, PROJECT_TRACKER_ID, "Tasks", "Status")
    assert "Done" in choices
    assert len(choices) > 1


def test_update__makes_a_version_that_runs_only_once_published(
    library: PromptLibrary, ana: User
) -> None:
    prompt = library.create(user_id=ana.id, draft=_draft())
    second = library.update(
        user_id=ana.id, prompt_id=prompt.id, draft=_draft(template="v2 {{status}}")
    )
    assert second.number == 2
    assert library.versions(user_id=ana.id, prompt_id=prompt.id) == [1, 2]
    assert library.version(user_id=ana.id, prompt_id=prompt.id).number == 1
    library.publish(user_id=ana.id, prompt_id=prompt.id, number=2)
    rendered = library.render(user_id=ana.id, prompt_id=prompt.id, values=_values())
    assert rendered.text == "v2 Done"
    assert library.get(user_id=ana.id, prompt_id=prompt.id).published_version == 2
    with pytest.raises(NotFoundError):
        library.publish(user_id=ana.id, prompt_id=prompt.id, number=7)


def test_visible__a_member_sees_only_own_and_shared_prompts(
    library: PromptLibrary, ana: User, ben: User
) -> None:
    private = library.create(user_id=ana.id, draft=_draft("Private"))
    shared = library.create(user_id=ana.id, draft=_draft("Shared"))
    library.share(user_id=ana.id, prompt_id=shared.id, everyone=True)
    assert [p.name for p in library.visible(user_id=ben.id)] == ["Shared"]
    with pytest.raises(NotFoundError):
        library.get(user_id=ben.id, prompt_id=private.id)
    with pytest.raises(NotAllowedError):
        library.update(user_id=ben.id, prompt_id=shared.id, draft=_draft("Taken"))
    library.share(user_id=ana.id, prompt_id=shared.id, everyone=False)
    assert library.visible(user_id=ben.id) == []


def test_find_by_name__prefers_own_prompt_and_ignores_case(
    library: PromptLibrary, ana: User, ben: User
) -> None:
    shared = library.create(user_id=ana.id, draft=_draft("Standup"))
    library.share(user_id=ana.id, prompt_id=shared.id, everyone=True)
    assert library.find_by_name(user_id=ben.id, name=" standup ") == library.get(
        user_id=ben.id, prompt_id=shared.id
    )
    own = library.create(user_id=ben.id, draft=_draft("Standup"))
    found = library.find_by_name(user_id=ben.id, name="STANDUP")
    assert found is not None
    assert found.id == own.id
    assert library.find_by_name(user_id=ben.id, name="missing") is None


def test_export_import__round_trip_makes_an_equal_private_copy(
    library: PromptLibrary, ana: User, ben: User
) -> None:
    draft = PromptDraft(
        name="Status report",
        template=TEMPLATE,
        variables=[STATUS, DUE, COUNT, TONE],
        mode=RunMode.TOOLS,
        description="For Mondays",
        base_id=PROJECT_TRACKER_ID,
    )
    original = library.create(user_id=ana.id, draft=draft)
    exported = library.export_json(user_id=ana.id, prompt_id=original.id)
    copy = library.import_json(user_id=ben.id, text=exported)
    assert (copy.owner_id, copy.name, copy.description) == (ben.id, "Status report", "For Mondays")
    assert not copy.shared
    source = library.version(user_id=ana.id, prompt_id=original.id)
    imported = library.version(user_id=ben.id, prompt_id=copy.id)
    assert (imported.template, imported.variables, imported.mode, imported.base_id) == (
        source.template,
        source.variables,
        source.mode,
        source.base_id,
    )
    assert library.export_json(user_id=ben.id, prompt_id=copy.id) == exported


def test_import__refuses_other_json(library: PromptLibrary, ana: User) -> None:
    with pytest.raises(InvalidInputError, match="not an exported prompt"):
        library.import_json(user_id=ana.id, text='{"name": "x"}')
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        library.import_json(user_id=ana.id, text="{")


BASE = Variable("base", VariableType.BASE)
TABLE = Variable("table", VariableType.TABLE)


def test_render__a_base_picker_takes_a_name_or_id_and_sets_the_run_base(
    library: PromptLibrary, ana: User
) -> None:
    draft = PromptDraft(
        name="Tables", template="In {{base}}, count {{table}}.", variables=[TABLE, BASE]
    )
    prompt = library.create(user_id=ana.id, draft=draft)
    by_id = library.render(
        user_id=ana.id, prompt_id=prompt.id, values={"base": SALES_CRM_ID, "table": "Deals"}
    )
    assert by_id.text == "In Sales CRM, count Deals."
    assert by_id.base_id == SALES_CRM_ID
    by_name = library.render(
        user_id=ana.id, prompt_id=prompt.id, values={"base": "project tracker", "table": "Tasks"}
    )
    assert (by_name.text, by_name.base_id) == (
        "In Project Tracker, count Tasks.",
        PROJECT_TRACKER_ID,
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"base": "Payroll", "table": "Deals"}, '"Payroll" is not one of your bases'),
        ({"base": SALES_CRM_ID, "table": "Tasks"}, '"Tasks" is not an option of Table'),
    ],
)
def test_render__refuses_a_base_or_table_the_user_cannot_pick(
    library: PromptLibrary, ana: User, values: dict[str, str], message: str
) -> None:
    draft = PromptDraft(name="Tables", template="{{base}} {{table}}", variables=[BASE, TABLE])
    prompt = library.create(user_id=ana.id, draft=draft)
    with pytest.raises(InvalidInputError, match=message):
        library.render(user_id=ana.id, prompt_id=prompt.id, values=values)


def test_render__a_table_picker_without_a_base_picker_lists_the_prompt_base(
    library: PromptLibrary, ana: User
) -> None:
    draft = PromptDraft(
        name="Tables", template="{{table}}", variables=[TABLE], base_id=PROJECT_TRACKER_ID
    )
    prompt = library.create(user_id=ana.id, draft=draft)
    rendered = library.render(user_id=ana.id, prompt_id=prompt.id, values={"table": "Projects"})
    assert (rendered.text, rendered.base_id) == ("Projects", PROJECT_TRACKER_ID)
    with pytest.raises(InvalidInputError, match='"Deals" is not an option'):
        library.render(user_id=ana.id, prompt_id=prompt.id, values={"table": "Deals"})


def test_create__refuses_a_table_picker_with_no_base(library: PromptLibrary, ana: User) -> None:
    draft = PromptDraft(name="Tables", template="{{table}}", variables=[TABLE])
    with pytest.raises(InvalidInputError, match='Table picker "table" needs a base'):
        library.create(user_id=ana.id, draft=draft)


def test_compare_versions__shows_what_changed_between_two_versions(
    library: PromptLibrary, ana: User
) -> None:
    prompt = library.create(user_id=ana.id, draft=_draft())
    changed = PromptDraft(
        name="Weekly tasks",
        template=TEMPLATE.replace("list", "count"),
        variables=[STATUS, DUE, COUNT, Variable("tone", VariableType.SELECT, options=["short"])],
    )
    library.update(user_id=ana.id, prompt_id=prompt.id, draft=changed)
    first, second = (library.version(user_id=ana.id, prompt_id=prompt.id, number=n) for n in (1, 2))
    diff = compare_versions(first, second)
    assert diff.startswith("--- version 1\n+++ version 2\n")
    assert "-variable tone (select) options: short, friendly\n" in diff
    assert "+variable tone (select) options: short\n" in diff
    assert "+Hi, I am {{user_name}}. On {{today}} count" in diff
    assert " variable due (date) label: Due date\n" in diff  # unchanged: context only
    assert compare_versions(first, first) == ""
