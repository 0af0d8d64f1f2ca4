"""A service consumes exactly the topics it declares: the declaration cannot drift from the code."""

import pytest

from shared.events import AuditGraded, CaseOpened
from shared.events.topics import AUDIT_GRADED
from shared.runtime import ServiceRuntime
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings


def runtime(tmp_path, consumes: tuple[str, ...]) -> ServiceRuntime:
    declared = ServiceDefinition(ServiceSettings, "Example", "A test service", consumes, (), {})
    settings = ServiceSettings(
        kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path, auth_jwks_file=tmp_path / "k"
    )
    return ServiceRuntime.build(declared, settings)


def test_handlers_for_the_declared_topics_are_subscribed_to_them(tmp_path):
    service = runtime(tmp_path, (AUDIT_GRADED,))
    service.consume({AuditGraded: lambda _session, _event: None})
    assert [s.specification.channel_labels for s in service.broker.subscribers] == [[AUDIT_GRADED]]


def test_a_handler_for_an_undeclared_topic_is_refused_naming_both(tmp_path):
    service = runtime(tmp_path, (AUDIT_GRADED,))
    with pytest.raises(ValueError, match=r"handlers cover topics \['case.events'\]"):
        service.consume({CaseOpened: lambda _session, _event: None})


def test_a_declared_topic_without_a_handler_is_refused(tmp_path):
    service = runtime(tmp_path, (AUDIT_GRADED, "case.events"))
    with pytest.raises(ValueError, match="declares it consumes"):
        service.consume({AuditGraded: lambda _session, _event: None})
