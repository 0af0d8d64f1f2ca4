import json
import logging

from shared.logging import JsonFormatter, correlated


def render(message, *args, **extra):
    record = logging.LogRecord("qa.test", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter("audit").format(record))


def test_log_lines_are_json_with_service_and_correlation_id():
    with correlated("corr-42"):
        line = render("audit stored", audit_id="AUD-1")
    assert line["service"] == "audit"
    assert line["correlation_id"] == "corr-42"
    assert line["audit_id"] == "AUD-1"
    assert line["message"] == "audit stored"
    assert "correlation_id" not in render("outside any event")


def test_email_addresses_never_reach_the_log():
    line = render(
        "could not deliver to %s",
        "jane.smith@council.example.gov.uk",
        recipient="j.smith@example.org",
    )
    text = json.dumps(line)
    assert "jane.smith" not in text
    assert "j.smith@example.org" not in text
    assert "[redacted-email]" in line["message"]
