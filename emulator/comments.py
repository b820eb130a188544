"""Handlers for record comments: ``/v0/{baseId}/{tableIdOrName}/{recordId}/comments``.

Comments are listed newest first, ``pageSize`` up to 100 with an ``offset``; ``@[usr...]``
mentions of the emulator's user are reported in ``mentioned``.
"""

import re
from typing import Any

from emulator import errors
from emulator.ids import format_time, has_prefix, new_id
from emulator.schema import Record
from emulator.state import Call

_MENTION = re.compile(r"@\[(usr[0-9A-Za-z]{14})\]")
MAX_PAGE_SIZE = 100


def _record(call: Call) -> Record:
    table = call.table()
    record = table.records.get(call.params["recordId"])
    if record is None:
        raise errors.record_not_found(call.params["recordId"])
    return record


def _public(call: Call, comment: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in comment.items() if k != "recordId"}
    user = call.store.user
    mentioned = {
        uid: {"id": uid, "type": "user", "displayName": user["name"], "email": user["email"]}
        for uid in _MENTION.findall(comment["text"])
        if uid == user["id"]
    }
    if mentioned:
        data["mentioned"] = mentioned
    return data


def list_comments(call: Call) -> dict[str, Any]:
    """``GET .../comments?pageSize=&offset=``."""
    record = _record(call)
    raw_size = call.query.get("pageSize", str(MAX_PAGE_SIZE))
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
        raise errors.invalid_page_size(raw_size)
    size = int(raw_size)
    thread = list(reversed(call.store.comments.get(record.id, [])))
    start = 0
    if offset := call.query.get("offset"):
        ids = [c["id"] for c in thread]
        if offset not in ids:
            raise errors.invalid_offset(offset)
        start = ids.index(offset)
    page = thread[start : start + size]
    following = thread[start + size] if start + size < len(thread) else None
    return {
        "comments": [_public(call, c) for c in page],
        "offset": following["id"] if following else None,
    }


def _text(call: Call) -> str:
    text = call.json().get("text")
    if not isinstance(text, str) or not text.strip():
        raise errors.invalid_request('A comment needs a non-empty "text"')
    return text


def create_comment(call: Call) -> dict[str, Any]:
    """``POST .../comments`` with ``{text, parentCommentId?}``."""
    record = _record(call)
    text = _text(call)
    parent = call.json().get("parentCommentId")
    if parent is not None and not any(
        c["id"] == parent for c in call.store.comments.get(record.id, [])
    ):
        raise errors.invalid_request(f"Unknown parentCommentId {parent!r}")
    comment: dict[str, Any] = {
        "id": new_id("com"),
        "recordId": record.id,
        "author": dict(call.store.user),
        "text": text,
        "createdTime": format_time(call.now),
        "lastUpdatedTime": None,
    }
    if parent is not None:
        comment["parentCommentId"] = parent
    call.store.put_comment(comment)
    return _public(call, comment)


def _comment(call: Call, record: Record) -> dict[str, Any]:
    comment_id = call.params["commentId"]
    for comment in call.store.comments.get(record.id, []):
        if comment["id"] == comment_id and has_prefix(comment_id, "com"):
            return comment
    raise errors.model_not_found()


def update_comment(call: Call) -> dict[str, Any]:
    """``PATCH .../comments/{commentId}`` with ``{text}``."""
    record = _record(call)
    comment = dict(_comment(call, record))
    comment["text"] = _text(call)
    comment["lastUpdatedTime"] = format_time(call.now)
    call.store.put_comment(comment)
    return _public(call, comment)


def delete_comment(call: Call) -> dict[str, Any]:
    """``DELETE .../comments/{commentId}``."""
    record = _record(call)
    comment = _comment(call, record)
    call.store.delete_comment(record.id, comment["id"])
    return {"id": comment["id"], "deleted": True}
