"""What a chat question may be: the one check the page and the assistant share."""

from services.questions import MAX_QUESTION_CHARS, question_problem


def test_question_problem__accepts_up_to_the_limit() -> None:
    assert question_problem("How many tasks?") is None
    assert question_problem("x" * MAX_QUESTION_CHARS) is None
    assert question_problem("  " + "x" * MAX_QUESTION_CHARS + "\n") is None  # edges trimmed


def test_question_problem__says_how_long_it_is_and_what_the_limit_is() -> None:
    problem = question_problem("x" * (MAX_QUESTION_CHARS + 1))
    assert problem == (
        f"Your message has {MAX_QUESTION_CHARS + 1:,} characters; the limit is "
        f"{MAX_QUESTION_CHARS:,}. Shorten it and send it again."
    )


def test_question_problem__refuses_an_empty_question() -> None:
    assert question_problem(" \n ") == "Type a question first."
