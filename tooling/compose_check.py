"""The compose stack as shipped, run for real under podman: deploy/compose-check.sh runs this.

It makes a Debian base image (mmdebstrap) and, from it, stand-ins for the public images no
registry here can give (deploy/standins/), builds the service image from deploy/Dockerfile on
the stand-in Python and Node images, brings docker-compose.yml up with the dev profile (local
sign-in, mail catcher) and only the image variables overridden, waits for every health check,
records an Inadequate audit through the published web front and finds the email to the Head of
Service at the mail catcher, checks Prometheus scrapes every job with health "up", and brings
everything down again, whatever happened. Its one line on stdout:
`compose: build Xs up Ys journey Zs down Ws`; progress goes to stderr.

Two gaps of this machine's engine are bridged here, in the open:
- podman 4.3 (Debian bookworm) runs no health checks without systemd, and podman-compose skips
  `service_healthy` conditions on podman before 4.6; so each service is started here once its
  dependencies are ready (`next_to_start`), and this module runs each health check itself
  (`podman healthcheck run`) until the dependents' conditions hold.
- Grafana has no Debian package and no stand-in (deploy/standins/README.md): left out.
"""

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from shared.calendar import uk_day
from shared.organisation import load_organisation
from tooling.localstack.kafka import KAFKA_VERSION, cache_root

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
STANDINS = ROOT / "deploy" / "standins"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
PROJECT = "qa-compose-check"
PODMAN_COMPOSE_VERSION = "1.6.0"  # the first 1.x with profiles, --env-file and conditions
BASE_IMAGE = "localhost/debian-base:bookworm"
SERVICE_IMAGE = "qa-platform:local"  # the compose file's own name for the one service image
HOST_CAS = Path("/usr/local/share/ca-certificates")
ENGINE_CONF = Path("/etc/containers/containers.conf")
ENGINE_SETTINGS = {
    "containers": {"default_ulimits": "[]"},
    "engine": {"runtime": '"runc"', "cgroup_manager": '"cgroupfs"'},
}
"""What podman needs on this kind of machine (no systemd, no raisable ulimits)."""

IMAGE_VARIABLES = {
    "kafka": "KAFKA_IMAGE",
    "postgres": "POSTGRES_IMAGE",
    "prometheus": "PROMETHEUS_IMAGE",
    "mailpit": "MAILPIT_IMAGE",
}
"""Stand-in → the compose file's variable for its image (the only variables overridden)."""
BUILD_ARGS = {"python": "BASE_IMAGE", "node": "NODE_IMAGE"}
"""Stand-in → deploy/Dockerfile's build argument for it."""
LEFT_OUT = {"grafana": "no Grafana image: not in Debian bookworm, none built from registries"}

WEB_URL = "http://127.0.0.1:8005"  # the compose file's one published port (WEB_BIND default)
MAIL_URL = "http://127.0.0.1:8025"  # the dev profile's mail catcher, published on loopback
AUDITOR, PRACTITIONER, TEAM = "S0009", "S0006", "EH-NORTH"  # as tests/e2e/test_browser.py
UP_TIMEOUT, JOURNEY_TIMEOUT = 420.0, 120.0


class CheckFailed(Exception):
    """The stack did not do what it should; the message says what."""


# --- decisions (pure) -------------------------------------------------------------------------


def engine_config(existing: str | None) -> str | None:
    """containers.conf with every ENGINE_SETTINGS key, or None when it has them all already.

    Keys already set are kept as the machine's owner set them; missing ones are added under
    their table (made when absent), so a second run changes nothing.
    """
    current = tomllib.loads(existing or "")
    text = existing or "# podman settings for this machine (written by deploy/compose-check.sh)\n"
    changed = False
    for table, settings in ENGINE_SETTINGS.items():
        missing = [key for key in settings if key not in current.get(table, {})]
        if not missing:
            continue
        changed = True
        lines = "".join(f"{key} = {settings[key]}\n" for key in missing)
        header = re.search(rf"^\[{table}\][ \t]*\n", text, flags=re.MULTILINE)
        if header is None:
            text = text.rstrip("\n") + f"\n\n[{table}]\n{lines}"
        else:
            text = text[: header.end()] + lines + text[header.end() :]
    return text if changed else None


def wanted_services(compose: Mapping[str, Any], profiles: set[str]) -> list[str]:
    """The services that start with these profiles, less those with no image here."""
    return [
        name
        for name, spec in compose["services"].items()
        if set(spec.get("profiles", [])) <= profiles and name not in LEFT_OUT
    ]


def dependencies(spec: Mapping[str, Any]) -> dict[str, str]:
    """A service's depends_on as {service: condition} (the short list form: service_started)."""
    depends = spec.get("depends_on", {})
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {name: (how or {}).get("condition", "service_started") for name, how in depends.items()}


def next_to_start(
    compose: Mapping[str, Any], services: list[str], started: set[str], ready: set[str]
) -> list[str]:
    """The services not started yet whose every dependency (among `services`) is ready: each
    starts as soon as it may, so jobs that need only PostgreSQL do not wait for Kafka."""
    return [
        name
        for name in services
        if name not in started
        and all(d in ready for d in dependencies(compose["services"][name]) if d in services)
    ]


def is_job(spec: Mapping[str, Any]) -> bool:
    """A one-shot: the compose file restarts it only on failure (migrations, topics, keys)."""
    return spec.get("restart") == "on-failure"


def has_healthcheck(spec: Mapping[str, Any]) -> bool:
    check = spec.get("healthcheck") or {}
    return bool(check) and not check.get("disable", False)


def scraped_jobs(prometheus_config: Mapping[str, Any]) -> set[str]:
    return {job["job_name"] for job in prometheus_config["scrape_configs"]}


def jobs_not_up(targets: Mapping[str, Any], jobs: set[str]) -> list[str]:
    """The scrape jobs with no target whose health is "up" (GET /api/v1/targets's answer)."""
    up = {
        target["labels"].get("job")
        for target in targets["data"]["activeTargets"]
        if target["health"] == "up"
    }
    return sorted(jobs - up)


def inputs_digest(context: Path, *extra: str) -> str:
    """A stand-in's tag: the hash of every file of its build context and of `extra`."""
    digest = hashlib.sha256()
    for value in extra:
        digest.update(value.encode() + b"\0")
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def summary(timings: Mapping[str, float]) -> str:
    parts = " ".join(f"{step} {timings.get(step, 0.0):.0f}s" for step in STEPS)
    return f"compose: {parts}"


STEPS = ("build", "up", "journey", "down")


# --- the machine --------------------------------------------------------------------------------


def say(text: str) -> None:
    print(f"compose-check: {text}", file=sys.stderr, flush=True)


def run(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    stdin: Any = None,
    cwd: Path | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        env=dict(env) if env is not None else None,
        stdin=stdin,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-40:]
        raise CheckFailed(f"{' '.join(map(str, args[:4]))} failed:\n" + "\n".join(output))
    return result


def ensure_engine_config() -> None:
    existing = ENGINE_CONF.read_text() if ENGINE_CONF.exists() else None
    wanted = engine_config(existing)
    if wanted is not None:
        ENGINE_CONF.parent.mkdir(parents=True, exist_ok=True)
        ENGINE_CONF.write_text(wanted)
        say(f"wrote {ENGINE_CONF} (runc, cgroupfs, no default ulimits)")


def ensure_podman_compose() -> list[str]:
    """podman-compose from PyPI in a cached venv: Debian's 1.0.3 has no profiles or conditions."""
    home = cache_root() / f"podman-compose-{PODMAN_COMPOSE_VERSION}"
    program = home / "bin" / "podman-compose"
    if not program.exists():
        say(f"installing podman-compose {PODMAN_COMPOSE_VERSION} into {home}")
        run(sys.executable, "-m", "venv", "--clear", home)
        run(home / "bin" / "pip", "install", "-q", f"podman-compose=={PODMAN_COMPOSE_VERSION}")
    return [str(program)]


def image_exists(name: str) -> bool:
    return run("podman", "image", "exists", name, check=False).returncode == 0


def image_id(name: str) -> str:
    return run("podman", "image", "inspect", "--format", "{{.Id}}", name).stdout.strip()


def host_cas_digest() -> str:
    """The host's own CAs (an egress proxy's, say): the base trusts them, as the host does."""
    files = sorted(HOST_CAS.glob("*.crt")) if HOST_CAS.is_dir() else []
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


def ensure_base() -> None:
    """A minimal Debian bookworm root file system as an image, made once (about a minute)."""
    cas = host_cas_digest()
    if image_exists(BASE_IMAGE):
        label = run(
            "podman", "image", "inspect", "--format", '{{index .Labels "qa.host-cas"}}', BASE_IMAGE
        ).stdout.strip()
        if label == cas:
            return
    say(f"making {BASE_IMAGE} with mmdebstrap")
    hooks = []
    crts = sorted(HOST_CAS.glob("*.crt")) if HOST_CAS.is_dir() else []
    if crts:
        copied = " ".join(str(c) for c in crts)
        hooks = [
            f"--customize-hook=copy-in {copied} /usr/local/share/ca-certificates",
            '--customize-hook=chroot "$1" update-ca-certificates',
        ]
    with tempfile.TemporaryFile() as tarball:
        made = subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                "--include=ca-certificates",
                *hooks,
                "bookworm",
                "-",
            ],
            stdout=tarball,
            stderr=subprocess.PIPE,
            text=False,
            timeout=900,
            check=False,
        )
        if made.returncode != 0:
            raise CheckFailed(f"mmdebstrap failed:\n{made.stderr.decode()[-2000:]}")
        tarball.seek(0)
        run(
            "podman",
            "import",
            "--change",
            f"LABEL qa.host-cas={cas}",
            "-",
            BASE_IMAGE,
            stdin=tarball,
        )


def kafka_context() -> Path:
    """The Kafka stand-in's build context: its folder plus the jars Maven resolves (cached)."""
    home = cache_root() / f"kafka-standin-{KAFKA_VERSION}"
    libs = home / "libs"
    pom = STANDINS / "kafka" / "pom.xml"
    stamp = home / "resolved"
    if not stamp.exists() or stamp.read_text() != pom.read_text():
        say(f"resolving Apache Kafka {KAFKA_VERSION}'s jars with Maven into {libs}")
        shutil.rmtree(libs, ignore_errors=True)
        home.mkdir(parents=True, exist_ok=True)
        run(
            "mvn", "-q", "-B", "-f", pom, "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}", "-DincludeScope=runtime",
        )  # fmt: skip
        stamp.write_text(pom.read_text())
    context = home / "context"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(STANDINS / "kafka", context, ignore=shutil.ignore_patterns("pom.xml"))
    shutil.copytree(libs, context / "libs")
    return context


def standin(name: str, base_id: str) -> str:
    """The stand-in image `name`, built unless one with the same inputs exists."""
    context = kafka_context() if name == "kafka" else STANDINS / name
    tag = f"localhost/qa-standin-{name}:{inputs_digest(context, base_id)}"
    if not image_exists(tag):
        say(f"building {tag}")
        run(
            "podman", "build", "-q", "--build-arg", f"DEBIAN_BASE={BASE_IMAGE}",
            "-f", context / "Containerfile", "-t", tag, context,
        )  # fmt: skip
        # Earlier inputs' images of this stand-in are of no more use: not kept on disk.
        repository = tag.rsplit(":", 1)[0]
        listed = run("podman", "images", "--format", "{{.Repository}}:{{.Tag}}", repository)
        stale = [image for image in listed.stdout.split() if image != tag]
        if stale:
            run("podman", "rmi", *stale, check=False)
    return tag


def build_images() -> dict[str, str]:
    """Base, stand-ins (in parallel: mostly downloads) and the service image, which is built
    beside the other stand-ins as soon as its own two are; returns the stand-ins' tags."""
    ensure_base()
    base_id = image_id(BASE_IMAGE)
    with ThreadPoolExecutor(max_workers=3) as pool:
        firsts = {name: pool.submit(standin, name, base_id) for name in BUILD_ARGS}
        others = {name: pool.submit(standin, name, base_id) for name in IMAGE_VARIABLES}
        tags = {name: future.result() for name, future in firsts.items()}
        say(f"building {SERVICE_IMAGE} from deploy/Dockerfile (podman's layer cache)")
        build_args = [f"--build-arg={arg}={tags[name]}" for name, arg in BUILD_ARGS.items()]
        dockerfile = ROOT / "deploy" / "Dockerfile"
        run("podman", "build", "-q", *build_args, "-f", dockerfile, "-t", SERVICE_IMAGE, ROOT)
        tags |= {name: future.result() for name, future in others.items()}
    return tags


class Stack:
    """docker-compose.yml under podman-compose, as project PROJECT with the dev profile."""

    def __init__(self, compose_cmd: list[str], images: Mapping[str, str], secrets_dir: Path):
        self.compose = yaml.safe_load(COMPOSE_FILE.read_text())
        self.command = [
            *compose_cmd, "-p", PROJECT, "-f", str(COMPOSE_FILE),
            "--env-file", str(ROOT / "deploy" / "dev.env"), "--profile", "dev",
        ]  # fmt: skip
        self.overrides = {IMAGE_VARIABLES[name]: images[name] for name in IMAGE_VARIABLES}
        # SESSION_SECRET: dev.env asks for it from the environment (deploy/README.md).
        self.env = (
            dict(os.environ)
            | self.overrides
            | {"QA_SECRETS_DIR": str(secrets_dir), "SESSION_SECRET": secrets.token_hex(32)}
        )
        self.services = wanted_services(self.compose, {"dev"})

    def compose_run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(*self.command, *args, env=self.env, cwd=ROOT, check=check)

    def containers(self) -> dict[str, dict[str, Any]]:
        listed = run(
            "podman", "ps", "-a", "--format", "json",
            "--filter", f"label=io.podman.compose.project={PROJECT}",
        ).stdout  # fmt: skip
        found = json.loads(listed or "[]")
        return {c["Labels"]["com.docker.compose.service"]: c for c in found}

    def container(self, service: str) -> str:
        found = self.containers().get(service)
        if found is None:
            raise CheckFailed(f"no container for {service}")
        return str(found["Names"][0])

    def up(self) -> None:
        """Each service started once its dependencies are ready (their conditions, which
        podman 4.3 cannot wait for itself), until every one is ready."""
        started: set[str] = set()
        ready: set[str] = set()
        deadline = time.monotonic() + UP_TIMEOUT
        while len(ready) < len(self.services):
            if wave := next_to_start(self.compose, self.services, started, ready):
                say(f"up: {' '.join(wave)}")
                self.compose_run("up", "-d", "--no-deps", *wave)
                started.update(wave)
            checking = sorted(started - ready)  # at once: Kafka's check alone takes seconds
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = pool.map(self.ready, checking)
            ready.update(s for s, ok in zip(checking, answers, strict=True) if ok)
            if time.monotonic() > deadline:
                waiting = sorted(set(self.services) - ready)
                late = f"not ready in {UP_TIMEOUT:.0f}s: {waiting}"
                raise CheckFailed(f"{late}\n{self.logs(waiting)}")
            if not next_to_start(self.compose, self.services, started, ready):
                time.sleep(1)

    def ready(self, service: str) -> bool:
        """A job has exited 0; a service with a health check passes it (run here); else running."""
        spec = self.compose["services"][service]
        name = self.container(service)
        state = run(
            "podman", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name
        ).stdout.split()
        if is_job(spec):
            return state == ["exited", "0"]
        if state[0] != "running":
            return False
        if has_healthcheck(spec):
            return run("podman", "healthcheck", "run", name, check=False).returncode == 0
        return True

    def logs(self, services: list[str]) -> str:
        tails = []
        for service in services:
            name = self.containers().get(service, {}).get("Names", ["?"])[0]
            out = run("podman", "logs", "--tail", "25", name, check=False)
            tails.append(f"--- {service}\n{out.stdout}{out.stderr}")
        return "\n".join(tails)

    def prometheus_targets(self) -> dict[str, Any]:
        answer = run(
            "podman", "exec", self.container("prometheus"),
            "wget", "-qO-", "http://localhost:9090/api/v1/targets",
        )  # fmt: skip
        return dict(json.loads(answer.stdout))

    def down(self) -> None:
        """compose down -v, then proof that nothing of the project is left (images stay)."""
        self.compose_run("down", "-v", "-t", "10", check=False)
        label = f"label=io.podman.compose.project={PROJECT}"
        left = {
            kind: run("podman", *cmd, "--filter", label, check=False).stdout.split()
            for kind, cmd in {
                "containers": ["ps", "-aq"],
                "volumes": ["volume", "ls", "-q"],
                "networks": ["network", "ls", "-q"],
            }.items()
        }
        if any(left.values()):
            run("podman", "rm", "-f", "-v", *left["containers"], check=False)
            run("podman", "volume", "rm", "-f", *left["volumes"], check=False)
            run("podman", "network", "rm", "-f", *left["networks"], check=False)
            raise CheckFailed(f"compose down left {left} (removed now)")


def wait_for(what: str, probe: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what}: not seen in {timeout:.0f}s")
        time.sleep(1)


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if page.status_code != 200 or found is None:
        raise CheckFailed(f"{page.request.url}: {page.status_code}, no form")
    return str(found[1])


def expect_redirect(answer: httpx.Response, path_start: str) -> str:
    location = str(answer.headers.get("location", ""))
    if answer.status_code != 303 or not location.startswith(path_start):
        raise CheckFailed(f"{answer.request.url}: {answer.status_code} {location!r}")
    return location


def journey(web_url: str, mail_url: str) -> str:
    """An Inadequate audit recorded on the web front's pages; its email to the Head of Service
    found at the mail catcher. Both through published ports only. Returns the audit's id."""
    case_id = f"CASE-C{uuid.uuid4().int % 10**8:08d}"
    today = uk_day(datetime.now(UTC))
    grades = {
        "assessment": "requires_improvement",
        "planning": "requires_improvement",
        "visits": "inadequate",
        "voice_of_child": "inadequate",
        "management_oversight": "requires_improvement",
        "recording": "good",
        "overall_grade": "inadequate",
    }
    with httpx.Client(base_url=web_url, timeout=60) as web:

        def keep_cookies(answer: httpx.Response) -> None:
            """Browsers send Secure cookies to http://localhost and 127.0.0.1 (potentially
            trustworthy origins), so the web front's Secure session works there; httpx sends
            them over https only, so each is kept here as a plain cookie too."""
            for cookie in answer.cookies.jar:
                web.cookies.set(cookie.name, cookie.value or "")

        web.event_hooks["response"] = [keep_cookies]
        signed_in = web.post(
            "/sign-in", data={"staff_id": AUDITOR, "csrf_token": csrf(web.get("/sign-in"))}
        )
        expect_redirect(signed_in, "/")
        token = csrf(web.get("/audits/new"))
        form = grades | {
            "csrf_token": token,
            "case_id": case_id,
            "audit_kind": "learning",
            "team_id": TEAM,
            "practitioner_id": PRACTITIONER,
            "voice_of_child_evidenced": "no",
            "could_be_better_if": ["Visits record what the child said"],
            "graded_at-day": str(today.day),
            "graded_at-month": str(today.month),
            "graded_at-year": str(today.year),
        }
        expect_redirect(web.post("/audits/new", data=form), "/audits/new/check")
        recorded = web.post("/audits/new/check", data={"csrf_token": token})
        audit_id = expect_redirect(recorded, "/audits/").split("/")[2]
    organisation = load_organisation()
    area = organisation.teams_by_id[TEAM].service_area
    head = organisation.leads_of(area).head_of_service
    address = str(organisation.staff_by_id[head].email)

    def the_email() -> bool:
        with httpx.Client(base_url=mail_url, timeout=10) as mail:
            listed = mail.get("/api/v1/messages").json()["messages"]
            for message in listed:
                if address in {to["Address"] for to in message["To"]}:
                    text = mail.get(f"/api/v1/message/{message['ID']}").json()["Text"]
                    if case_id in text:
                        return True
        return False

    wait_for(f"the email about {audit_id} to the Head of Service", the_email, JOURNEY_TIMEOUT)
    return audit_id


@contextmanager
def timed(timings: dict[str, float], step: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        timings[step] = time.monotonic() - started


def check(timings: dict[str, float]) -> None:
    """The whole check, each step's time into `timings`; raises CheckFailed (after bringing
    everything down) if any part fails."""
    with timed(timings, "build"):
        ensure_engine_config()
        compose_cmd = ensure_podman_compose()
        images = build_images()
    secrets_dir = Path(tempfile.mkdtemp(prefix="qa-compose-secrets-"))
    stack = Stack(compose_cmd, images, secrets_dir)
    say("overridden: " + " ".join(f"{k}={v}" for k, v in stack.overrides.items()))
    say("built from stand-ins: " + " ".join(f"{a}={images[n]}" for n, a in BUILD_ARGS.items()))
    for service, why in LEFT_OUT.items():
        say(f"left out: {service} ({why})")
    try:
        run("bash", ROOT / "deploy" / "make-dev-secrets.sh", secrets_dir)
        stack.down()  # a run killed before its own down left nothing behind either
        with timed(timings, "up"):
            stack.up()
        with timed(timings, "journey"):
            audit_id = journey(WEB_URL, MAIL_URL)
            say(f"journey: {audit_id} recorded on the web front, its email at the mail catcher")
            jobs = scraped_jobs(yaml.safe_load(PROMETHEUS_CONFIG.read_text()))
            wait_for(
                "Prometheus scraping every job up",
                lambda: not jobs_not_up(stack.prometheus_targets(), jobs),
                90,
            )
            say(f"prometheus: every job up ({', '.join(sorted(jobs))})")
    finally:
        with timed(timings, "down"):
            try:
                stack.down()
            finally:
                shutil.rmtree(secrets_dir, ignore_errors=True)


def main() -> int:
    # A TERM (a test's timeout, CI cancelling) still brings the stack down: SystemExit unwinds
    # through check()'s finally.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    timings: dict[str, float] = {}
    passed = False
    try:
        check(timings)
        passed = True
    except CheckFailed as failure:
        say(f"FAILED: {failure}")
    finally:
        print(summary(timings) + ("" if passed else " FAILED"), flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
