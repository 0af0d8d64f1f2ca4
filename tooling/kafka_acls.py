"""Who may write and read which Kafka topic: derived once from the services' declarations.

Each service is its own SCRAM principal (`User:<service name>`): it writes the topics it
publishes, reads the topics it consumes in its own consumer group, and writes the dead-letter
topic of each topic it consumes. The case management system writes `case.events` and nothing
else. Everything else is refused by the broker's StandardAuthorizer; only the super user (the
broker and the setup job) creates topics and ACLs.

    python -m tooling.kafka_acls apply      # topics, then these ACLs, as the super user
    python -m tooling.kafka_acls commands   # the same as kafka-acls.sh command lines
"""

import argparse
import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from itertools import groupby
from pathlib import Path

from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.admin import CreateAclsRequest
from pydantic import SecretStr

from services.catalogue import SERVICES
from shared.events.topics import CASE_EVENTS, dead_letter_topic
from shared.kafka import client_options
from shared.service import ServiceDefinition
from shared.settings import (
    KafkaSaslMechanism,
    KafkaSecurity,
    KafkaSecurityProtocol,
    ProcessSettings,
    load_settings,
)
from tooling.localstack.topics import ensure_topics

CASE_MANAGEMENT = "case-management"
"""The principal of the case management system, the only writer of case events."""


class Resource(IntEnum):
    """Kafka's ResourceType codes (the wire protocol's)."""

    TOPIC = 2
    GROUP = 3


class Operation(IntEnum):
    """Kafka's AclOperation codes (the wire protocol's)."""

    READ = 3
    WRITE = 4
    DESCRIBE = 8


_LITERAL = 3  # PatternType: the resource's exact name, never a prefix
_ALLOW = 3  # AclPermissionType


@dataclass(frozen=True, order=True)
class AclBinding:
    """One "allow" rule: `principal` may do `operation` on the resource named `name`."""

    principal: str
    resource: Resource
    name: str
    operation: Operation


def _may_write(principal: str, topics: Iterable[str]) -> list[AclBinding]:
    return [
        AclBinding(principal, Resource.TOPIC, topic, operation)
        for topic in topics
        for operation in (Operation.WRITE, Operation.DESCRIBE)
    ]


def _may_read(principal: str, topics: Iterable[str]) -> list[AclBinding]:
    return [
        AclBinding(principal, Resource.TOPIC, topic, operation)
        for topic in topics
        for operation in (Operation.READ, Operation.DESCRIBE)
    ]


def service_bindings(service: ServiceDefinition) -> list[AclBinding]:
    """What one service may do: write its own topics, read what it consumes, dead-letter it."""
    principal = f"User:{service.name}"
    group = AclBinding(principal, Resource.GROUP, service.consumer_group, Operation.READ)
    return [
        *_may_write(principal, service.publishes),
        *_may_read(principal, service.consumes),
        *_may_write(principal, map(dead_letter_topic, service.consumes)),
        *([group] if service.consumes else []),
    ]


def acl_bindings(services: Sequence[ServiceDefinition] = SERVICES) -> list[AclBinding]:
    """Every ACL the deployment needs, sorted and without repeats."""
    bindings = {
        *(binding for service in services for binding in service_bindings(service)),
        *_may_write(f"User:{CASE_MANAGEMENT}", [CASE_EVENTS]),
    }
    return sorted(bindings)


def principals(services: Sequence[ServiceDefinition] = SERVICES) -> list[str]:
    """The SCRAM user names the ACLs are for (each needs a password)."""
    return [service.name for service in services] + [CASE_MANAGEMENT]


def kafka_acls_commands(bindings: Sequence[AclBinding]) -> list[str]:
    """The bindings as `kafka-acls.sh` lines, one per principal and resource."""
    lines = []
    for (principal, resource, name), same in groupby(
        sorted(bindings), key=lambda b: (b.principal, b.resource, b.name)
    ):
        operations = " ".join(f"--operation {b.operation.name.title()}" for b in same)
        lines.append(
            'kafka-acls.sh --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" '
            '--command-config "$KAFKA_ADMIN_CONFIG" --add '
            f"--allow-principal {principal} {operations} --{resource.name.lower()} {name}"
        )
    return lines


async def apply_acls(
    bootstrap_servers: str, security: KafkaSecurity | None, bindings: Sequence[AclBinding]
) -> None:
    """Create every binding on the cluster (creating one that exists changes nothing)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, **client_options(security))
    await client.bootstrap()
    try:
        for binding in bindings:
            request = CreateAclsRequest(
                binding.resource,
                binding.name,
                _LITERAL,
                binding.principal,
                "*",
                binding.operation,
                _ALLOW,
            )
            response = await client.send(client.get_random_node(), request)
            for error_code, message in response.creation_responses:
                if error_code:
                    raise RuntimeError(f"ACL {binding} refused: {error_code} {message}")
    finally:
        await client.close()


class KafkaAdminSettings(ProcessSettings):
    """The broker and the super user's credentials, in the variables the services use."""

    service_name = "kafka-setup"

    kafka_bootstrap_servers: str
    kafka_security_protocol: KafkaSecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: KafkaSaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None

    @property
    def kafka_security(self) -> KafkaSecurity:
        return KafkaSecurity(
            protocol=self.kafka_security_protocol,
            mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password,
            cafile=self.kafka_ssl_cafile,
        )


async def set_up_cluster(settings: KafkaAdminSettings) -> list[AclBinding]:
    """The contract's topics (those missing), then every ACL; returns the ACLs."""
    bindings = acl_bindings()
    await ensure_topics(settings.kafka_bootstrap_servers, security=settings.kafka_security)
    await apply_acls(settings.kafka_bootstrap_servers, settings.kafka_security, bindings)
    return bindings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.kafka_acls", description=__doc__)
    parser.add_argument("action", choices=["apply", "commands"])
    args = parser.parse_args(argv)
    bindings = acl_bindings()
    if args.action == "commands":
        print("\n".join(kafka_acls_commands(bindings)))
        return 0
    settings = load_settings(KafkaAdminSettings)
    applied = asyncio.run(set_up_cluster(settings))
    print(f"topics and {len(applied)} ACLs in place on {settings.kafka_bootstrap_servers}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
