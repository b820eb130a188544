import logging

import pytest

from config.logging import REDACTED, RedactSecretsFilter, redact


def test_redact__removes_registered_secrets_and_token_shapes() -> None:
    text = "key=my-secret-value token patABCDEFGH12345.abcdef auth Bearer abc.def AIza" + "x" * 30
    cleaned = redact(text, ["my-secret-value"])
    assert "my-secret-value" not in cleaned
    assert "patABCDEFGH12345" not in cleaned
    assert "Bearer abc" not in cleaned
    assert "AIza" not in cleaned
    assert cleaned.count(REDACTED) == 4


def test_filter__cleans_formatted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redaction")
    handler_filter = RedactSecretsFilter(["hunter2-secret"])
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="tests.redaction"):
            logger.info("connecting with %s for %s", "hunter2-secret", "user 7")
    finally:
        logger.removeFilter(handler_filter)
    assert "hunter2-secret" not in caplog.text
    assert "user 7" in caplog.text
