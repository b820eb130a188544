"""Base info with collaborators, button fields, and number rollups over #ERROR! (over HTTP)."""

from typing import Any

import pytest
import requests
from pyairtable import Api
from pyairtable.models.schema import BaseCollaborators, ButtonFieldSchema

from .bases import WORKSPACE, FreshBase, field_schema
from .http_errors import error_of


def test_base_info__collaborators_as_pyairtable_reads_them(fresh_base: FreshBase) -> None:
    api = fresh_base.api
    info = api.base(fresh_base.id).collaborators()
    assert isinstance(info, BaseCollaborators)
    assert info.id == fresh_base.id
    assert info.name.startswith("Test ")
    assert info.workspace_id == WORKSPACE
    assert info.permission_level == "create"
    (person,) = info.individual_collaborators.via_base
    assert person.user_id == api.whoami()["id"]
    assert person.permission_level == "create"
    assert info.individual_collaborators.via_workspace == []
    assert info.group_collaborators.via_base == []
    assert info.invite_links.via_base == []
    assert info.interfaces == {}


def test_base_info__without_include_has_only_the_base(fresh_base: FreshBase) -> None:
    api = fresh_base.api
    body = api.get(api.build_url(f"meta/bases/{fresh_base.id}"))
    assert set(body) == {"id", "name", "createdTime", "permissionLevel", "workspaceId"}
    assert body["createdTime"].endswith("Z")


def test_base_info__unknown_include_and_unknown_base_are_refused(fresh_base: FreshBase) -> None:
    api = fresh_base.api
    with pytest.raises(requests.HTTPError) as exc:
        api.get(api.build_url(f"meta/bases/{fresh_base.id}"), params={"include": "secrets"})
    assert error_of(exc)[0] == 422
    with pytest.raises(requests.HTTPError) as exc:
        api.base("appNoSuchBase0000").collaborators()
    assert error_of(exc)[0] in (403, 404)


def test_base_info__demo_bases_answer_too(demo_api: Api) -> None:
    info = demo_api.base("appDemoProjects00").collaborators()
    assert info.name == "Project Tracker"
    assert info.workspace_id.startswith("wsp")


def test_button__reads_as_label_and_url(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.create_field(
        "Profile",
        "button",
        options={"label": "Open profile", "url": "'https://example.com/p/' & RECORD_ID()"},
    )
    people.create_field("Docs", "button", options={"label": "Docs", "url": "https://x.test/d"})
    people.create_field("Nothing", "button", options={"label": "Press"})
    record = people.create({"Name": "Ada"})
    fields = record["fields"]
    assert fields["Profile"] == {
        "label": "Open profile",
        "url": f"https://example.com/p/{record['id']}",
    }
    assert fields["Docs"] == {"label": "Docs", "url": "https://x.test/d"}
    assert fields["Nothing"] == {"label": "Press", "url": None}
    text = people.get(record["id"], cell_format="string", time_zone="utc", user_locale="en-us")
    assert text["fields"]["Profile"] == "Open profile"


def test_button__schema_has_no_options_and_cannot_be_written(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.create_field("Go", "button", options={"label": "Go", "url": "https://x.test"})
    schema = field_schema(people.schema(force=True), "Go", ButtonFieldSchema)
    raw = fresh_base.api.get(fresh_base.api.build_url(f"meta/bases/{fresh_base.id}/tables"))
    (go,) = [f for t in raw["tables"] for f in t["fields"] if f["id"] == schema.id]
    assert go == {"id": schema.id, "name": "Go", "type": "button"}
    button_value: dict[str, Any] = {"Go": {"label": "x", "url": "y"}}
    with pytest.raises(requests.HTTPError) as exc:
        people.create(button_value)
    assert error_of(exc)[0] == 422


def test_button__renaming_a_field_keeps_its_url_formula(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    people.create_field("Mail", "button", options={"label": "Mail", "url": "'mailto:' & {Email}"})
    email_field = people.schema(force=True).field("Email")
    email_field.name = "E-mail"
    email_field.save()
    record = people.create({"E-mail": "ada@example.com"})
    assert record["fields"]["Mail"]["url"] == "mailto:ada@example.com"


def _teams_with_broken_rollups(fresh_base: FreshBase) -> tuple[str, str]:
    people, teams = fresh_base.people, fresh_base.teams
    people.create_field("Broken", "formula", options={"formula": "ERROR()"})
    link_id = teams.schema(force=True).field("People").id
    broken_id = people.schema(force=True).field("Broken").id
    for name, formula in (("Broken Sum", "SUM(values)"), ("Broken Join", "ARRAYJOIN(values)")):
        teams.create_field(
            name,
            "rollup",
            options={
                "recordLinkFieldId": link_id,
                "fieldIdInLinkedTable": broken_id,
                "formula": formula,
            },
        )
    team = teams.create({"Name": "Red"})
    people.batch_create([{"Name": "Ada", "Age": 3, "Team": [team["id"]]}] * 2)
    return team["id"], broken_id


def test_rollup__sum_over_errors_is_nan(fresh_base: FreshBase) -> None:
    team_id, _ = _teams_with_broken_rollups(fresh_base)
    fields = fresh_base.teams.get(team_id)["fields"]
    assert fields["Broken Sum"] == {"specialValue": "NaN"}
    assert fields["Broken Join"] == "#ERROR!, #ERROR!"
    assert fields["Total Age"] == 6  # a rollup over good values is unaffected
