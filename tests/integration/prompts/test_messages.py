"""Prompt validation messages name the field and the rule that failed."""

from __future__ import annotations

import pytest

from services.errors import InvalidInputError
from services.orm import User
from services.prompts.library import PromptDraft, PromptLibrary


@pytest.mark.parametrize(
    ("name", "template", "message"),
    [
        ("", "Hello", "Name: enter a name of 1 to 80 characters."),
        ("n" * 81, "Hello", "Name: enter a name of 1 to 80 characters."),
        ("Fine", " ", "Template: write 1 to "),
        ("Fine", "{{nope}}", "Template: it uses undeclared variables: nope."),
    ],
)
def test_create__messages_name_the_field(
    library: PromptLibrary, ana: User, name: str, template: str, message: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        library.create(
            user_id=ana.id, draft=PromptDraft(name=name, template=template, variables=[])
        )
    assert str(refused.value).startswith(message)


def test_import__messages_name_the_file(library: PromptLibrary, ana: User) -> None:
    with pytest.raises(InvalidInputError, match=r"^Import file: this is not valid JSON\."):
        library.import_json(user_id=ana.id, text="{")
