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


def test_json_lines__one_object_a_line_with_the_trace_id_and_secrets_redacted() -> None:
    import json

    from config.logging import JsonLines, RedactSecretsFilter, traced

    record = logging.LogRecord(
        "app.x", logging.WARNING, __file__, 1, "key %s", ("s3cr3t-value",), None
    )
    RedactSecretsFilter(["s3cr3t-value"]).filter(record)
    with traced("req-abc"):
        line = JsonLines().format(record)
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "app.x"
    assert entry["message"] == "key [redacted]"
    assert entry["trace_id"] == "req-abc"
    assert entry["ts"].endswith("Z")
    assert "trace_id" not in json.loads(JsonLines().format(record))
