"""What a chat question may be: checked before it is shown, sent or stored."""

from __future__ import annotations

MAX_QUESTION_CHARS = 8_000


def question_problem(text: str) -> str | None:
    """Why `text` cannot be asked, in words for the person who typed it; None when it can."""
    length = len(text.strip())
    if not length:
        return "Type a question first."
    if length > MAX_QUESTION_CHARS:
        return (
            f"Your message has {length:,} characters; the limit is {MAX_QUESTION_CHARS:,}. "
            "Shorten it and send it again."
        )
    return None
