"""Record comments: create, list with pages, edit, delete, and commentCount."""

import pytest
import requests

from .bases import FreshBase
from .http_errors import error_of


def test_comments__create_list_edit_delete(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    record = people.create({"Name": "Fay"})
    me = fresh_base.api.whoami()["id"]
    comment = people.add_comment(record["id"], f"Hello @[{me}]!")
    assert comment.id.startswith("com")
    assert comment.author.id == me
    assert comment.mentioned[me].display_name
    reply = people.add_comment(record["id"], "Reply", parent_comment_id=comment.id)
    assert reply.parent_comment_id == comment.id
    assert [c.text for c in people.comments(record["id"])] == ["Reply", f"Hello @[{me}]!"]
    comment.text = "Edited"
    comment.save()
    assert comment.last_updated_time is not None
    listed = {c.id: c.text for c in people.comments(record["id"])}
    assert listed[comment.id] == "Edited"
    reply.delete()
    assert [c.id for c in people.comments(record["id"])] == [comment.id]


def test_comments__paginate_and_count(fresh_base: FreshBase) -> None:
    people = fresh_base.people
    record = people.create({"Name": "Gus"})
    for i in range(105):
        people.add_comment(record["id"], f"c{i}")
    assert len(people.comments(record["id"])) == 105
    url = people.urls.record_comments(record["id"])
    page = fresh_base.api.get(url, params={"pageSize": 100})
    assert len(page["comments"]) == 100
    assert page["offset"]
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.api.get(url, params={"pageSize": 101})
    assert error_of(exc)[0] == 422
    counted = people.first(count_comments=True)
    assert counted is not None
    assert counted["commentCount"] == 105


def test_comments__on_missing_record_is_404(fresh_base: FreshBase) -> None:
    with pytest.raises(requests.HTTPError) as exc:
        fresh_base.people.add_comment("rec00000000000000", "hi")
    assert error_of(exc) == (404, {"error": "NOT_FOUND"})
