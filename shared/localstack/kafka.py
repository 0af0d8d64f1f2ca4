"""Apache Kafka as a single-node KRaft broker, run with `java` from jars out of Maven Central.

The jars of `org.apache.kafka:kafka_2.13` (pinned) and their dependencies are resolved by
Maven into a cache folder on first use; later starts reuse them.
"""

import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from shared.localstack.processes import (
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


@dataclass
class KafkaServer:
    """One KRaft broker+controller on loopback with its data under `data_dir`."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout: float = 90) -> None:
        if not java_available():
            raise StackError("Java is not installed, so Apache Kafka cannot run here")
        classpath = f"{kafka_jars()}/*"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.unlink(missing_ok=True)  # readiness and version are read from this run's log
        properties = self._write_config()
        if not (self.data_dir / "logs" / "meta.properties").exists():
            self._java(
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                "-t",
                str(uuid.uuid4().hex[:22]),
                "-c",
                str(properties),
                wait=True,
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
        )

    def _write_config(self) -> Path:
        properties = self.data_dir / "server.properties"
        properties.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
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
