"""Apache Kafka as a single-node KRaft broker, run with `java` from jars out of Maven Central.

The jars of `org.apache.kafka:kafka_2.13` (pinned) and their dependencies are resolved by
Maven into a cache folder on first use; later starts reuse them.

With a `ScramUser` the broker also listens for SASL_SSL clients (SCRAM-SHA-512 over TLS, with a
throwaway CA and broker certificate made by the `openssl` CLI at each start), so clients'
security settings can be proved against a real broker. Inter-broker and controller traffic
stays PLAINTEXT on loopback, and so does the ordinary listener. `more_scram_users` adds further
SCRAM users at format time, and `acl_super_user` turns Kafka's StandardAuthorizer on, so ACLs
decide what each SASL_SSL user may do (as in deploy/kafka/server.properties).
"""

import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from tooling.localstack.processes import (
    StackError,
    free_port,
    port_open,
    stop_process,
    tail,
    wait_until,
)

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
SLF4J_VERSION = "2.0.17"
HEAP = "-Xmx512m"

_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.qa</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
      <version>{SLF4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.append = false
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
"""


def cache_root() -> Path:
    return Path(os.environ.get("QA_CACHE_DIR", Path.home() / ".cache" / "qa-platform"))


def java_available() -> bool:
    return shutil.which("java") is not None


def kafka_jars(cache: Path | None = None) -> Path:
    """The folder of Kafka's jars, resolving them from Maven Central the first time."""
    home = (cache or cache_root()) / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    if (home / "resolved").exists():
        return libs
    if shutil.which("mvn") is None:
        raise StackError("Maven (mvn) is needed once to fetch Apache Kafka's jars; install it")
    print(
        f"Resolving Apache Kafka {KAFKA_VERSION} from Maven Central into {libs} (first use only)",
        file=sys.stderr,
        flush=True,
    )
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(_POM)
    staging = home / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(home / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"Maven could not resolve Apache Kafka:\n{result.stdout}\n{result.stderr}")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (home / "resolved").write_text(KAFKA_VERSION)
    return libs


SCRAM_MECHANISM = "SCRAM-SHA-512"
# StorageTool parses `SCRAM-SHA-512=[name=...,password=...]`; these characters would break it.
_SCRAM_UNSAFE = re.compile(r"[\s,=\[\]\"']")


@dataclass(frozen=True)
class ScramUser:
    """A SCRAM-SHA-512 user created when the broker's storage is formatted."""

    name: str
    password: SecretStr

    def __post_init__(self) -> None:
        if not self.name or _SCRAM_UNSAFE.search(self.name + self.password.get_secret_value()):
            raise ValueError("SCRAM user name and password: no spaces, commas, =, [, ] or quotes")


@dataclass
class KafkaServer:
    """One KRaft broker+controller on loopback with its data under `data_dir`.

    `scram` adds a SASL_SSL listener on `sasl_ssl_port` that only that user can use, and
    `more_scram_users` more users of it. `acl_super_user` (a SCRAM user's name) turns ACLs on:
    that user and the loopback PLAINTEXT listeners' ANONYMOUS principal may do anything,
    every other user only what an ACL allows.
    """

    data_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    scram: ScramUser | None = None
    sasl_ssl_port: int = field(default_factory=free_port)
    more_scram_users: tuple[ScramUser, ...] = ()
    acl_super_user: str | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_ssl_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.sasl_ssl_port}"

    @property
    def ca_file(self) -> Path:
        """The PEM certificate of the throwaway CA that signed the SASL_SSL listener's."""
        return self.data_dir / "tls" / "ca.pem"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout: float = 90) -> None:
        if not java_available():
            raise StackError("Java is not installed, so Apache Kafka cannot run here")
        classpath = f"{kafka_jars()}/*"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.unlink(missing_ok=True)  # readiness and version are read from this run's log
        if self.scram is not None:
            self._make_certificates()
        properties = self._write_config()
        scram_marker = self.data_dir / "scram-user"
        if not (self.data_dir / "logs" / "meta.properties").exists():
            # The passwords are on this short-lived command line: acceptable for throwaway
            # users of a loopback broker, and StorageTool offers no other way at format time.
            users = (*([self.scram] if self.scram else []), *self.more_scram_users)
            scram_args = [
                argument
                for user in users
                for argument in (
                    "--add-scram",
                    f"{SCRAM_MECHANISM}=[name={user.name},password={user.password.get_secret_value()}]",
                )
            ]
            self._java(
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                "-t",
                str(uuid.uuid4().hex[:22]),
                "-c",
                str(properties),
                *scram_args,
                wait=True,
            )
            scram_marker.unlink(missing_ok=True)
            if self.scram is not None:
                scram_marker.write_text(self.scram.name)
        elif self.scram is not None and (
            not scram_marker.exists() or scram_marker.read_text() != self.scram.name
        ):
            # SCRAM users are written only when storage is formatted; reusing older data would
            # start a listener nobody can log in to.
            raise StackError(
                f"{self.data_dir} was formatted without SCRAM user {self.scram.name!r}; "
                "remove it to start afresh"
            )
        self.process = self._java(classpath, "kafka.Kafka", str(properties), wait=False)
        wait_until(
            self._started,
            timeout=timeout,
            process=self.process,
            what="Apache Kafka",
            log=self.log_file,
        )

    def version(self) -> str:
        found = re.findall(r"Kafka version: (\S+)", self.log_file.read_text(errors="replace"))
        return found[-1] if found else "unknown"

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def _started(self) -> bool:
        # The log is rewritten at each start (append = false), so the line is this run's.
        return (
            self.log_file.exists()
            and "Kafka Server started" in self.log_file.read_text(errors="replace")
            and port_open(self.port)
            and (self.scram is None or port_open(self.sasl_ssl_port))
        )

    def _make_certificates(self) -> None:
        """A new CA and a broker certificate for 127.0.0.1/localhost that it signed.

        Kafka reads PEM directly: the keystore is one file holding the key, then the chain.
        """
        tls = self.data_dir / "tls"
        shutil.rmtree(tls, ignore_errors=True)
        tls.mkdir(parents=True)
        if shutil.which("openssl") is None:
            raise StackError(
                "The openssl command is needed for the SASL_SSL listener's certificates"
            )
        ec_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc"]
        (tls / "broker.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid\n"
        )
        commands = [
            ["req", "-x509", *ec_key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "7",
             "-subj", "/CN=qa-platform throwaway local CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", *ec_key, "-keyout", "broker.key", "-out", "broker.csr",
             "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "7", "-extfile", "broker.ext", "-out", "broker.crt"],
        ]  # fmt: skip
        for command in commands:
            result = subprocess.run(
                ["openssl", *command], cwd=tls, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise StackError(f"openssl {command[0]} failed:\n{result.stderr}")
        keystore = tls / "broker-keystore.pem"
        keystore.write_text(
            "".join((tls / name).read_text() for name in ("broker.key", "broker.crt", "ca.pem"))
        )
        keystore.chmod(0o600)

    def _write_config(self) -> Path:
        properties = self.data_dir / "server.properties"
        listeners = (
            f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
        )
        advertised = f"PLAINTEXT://127.0.0.1:{self.port}"
        protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
        sasl_ssl: list[str] = []
        if self.scram is not None:
            sasl_ssl_listener = f"SASL_SSL://127.0.0.1:{self.sasl_ssl_port}"
            listeners += f",{sasl_ssl_listener}"
            advertised += f",{sasl_ssl_listener}"
            protocols += ",SASL_SSL:SASL_SSL"
            prefix = "listener.name.sasl_ssl."
            sasl_ssl = [
                f"sasl.enabled.mechanisms={SCRAM_MECHANISM}",
                f"{prefix}{SCRAM_MECHANISM.lower()}.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                f"{prefix}ssl.keystore.type=PEM",
                f"{prefix}ssl.keystore.location={self.data_dir / 'tls' / 'broker-keystore.pem'}",
                f"{prefix}ssl.client.auth=none",
            ]
        if self.acl_super_user is not None:
            sasl_ssl += [
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                # ANONYMOUS is the loopback PLAINTEXT listeners' principal: the broker itself.
                f"super.users=User:{self.acl_super_user};User:ANONYMOUS",
            ]
        properties.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners={listeners}",
                    f"advertised.listeners={advertised}",
                    "controller.listener.names=CONTROLLER",
                    f"listener.security.protocol.map={protocols}",
                    "inter.broker.listener.name=PLAINTEXT",
                    *sasl_ssl,
                    f"log.dirs={self.data_dir / 'logs'}",
                    "num.partitions=3",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2)
        return properties

    def _java(self, classpath: str, main: str, *args: str, wait: bool) -> subprocess.Popen[bytes]:
        command = [
            "java",
            HEAP,
            f"-Dkafka.logs.dir={self.data_dir}",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "-cp",
            classpath,
            main,
            *args,
        ]
        with (self.data_dir / "java.out").open("ab") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        if wait and process.wait(120) != 0:
            raise StackError(f"{main} failed:\n{tail(self.data_dir / 'java.out')}")
        return process
