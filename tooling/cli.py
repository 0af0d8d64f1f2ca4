"""`qa`: the project's command line: the local stack, the services, and the event schemas."""

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from unittest import mock

from aiokafka.errors import KafkaError

from services.catalogue import FRONT, SERVICE_NAMES
from shared.events.schemas import rendered_schemas, stale_schemas, write_schemas
from shared.events.vocabulary import Grade
from shared.organisation import DEMO_ORGANISATION_FILE, load_organisation
from tooling.demo import MONTHS, DemoError, seed_demo
from tooling.demo_cases import publish_demo_cases
from tooling.documents import stale_documents, write_documents
from tooling.localstack.control import PARTS, Part, RestartRequests, Watch, ask_to_restart
from tooling.localstack.processes import StackError
from tooling.localstack.services import ServiceProcess, web_environment
from tooling.localstack.stack import LocalStack, StackInfo, local_issuer
from tooling.localstack.status import Row, service_rows, stack_rows, table
from tooling.retention import RetentionError
from tooling.retention import purge as purge_service

# Command-line fragments that identify the processes a stack starts, so that cleaning up after
# a stack whose `qa` died never signals an unrelated process that reused a pid.
OUR_PROCESSES = ("kafka.Kafka", "postgres", "tansu", "services.")


def stack_root() -> Path:
    """Where the local stack keeps its data (QA_STACK_DIR, default .qa/stack)."""
    return Path(os.environ.get("QA_STACK_DIR", ".qa/stack"))


def state_file() -> Path:
    return stack_root() / "stack.json"


def stack_up(args: argparse.Namespace) -> int:
    """Start the stack in the foreground until Ctrl-C or SIGTERM, then stop it cleanly."""
    return _run_in_foreground(args, services=())


def run_system(args: argparse.Namespace) -> int:
    """The stack plus every service, each as its own process."""
    return _run_in_foreground(args, services=SERVICE_NAMES)


def _run_in_foreground(args: argparse.Namespace, services: tuple[str, ...]) -> int:
    state = state_file()
    if state.exists():
        if _alive(StackInfo.load(state).pid):
            print("The local stack is already running (see `qa stack status`).", file=sys.stderr)
            return 1
        _clean_up_after(StackInfo.load(state), state)
    root = stack_root().resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / ADDRESSES_FILE).unlink(missing_ok=True)  # a previous run's services are gone
    stack = LocalStack(root, "postgres" if args.postgres else "sqlite")
    started: list[ServiceProcess] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    restarts = RestartRequests(root)  # before the state file names us: SIGUSR1 would kill us
    # Ctrl-C stops the system even when a launcher started us with SIGINT ignored (`cmd &`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        info = stack.start(progress=_progress)
        info.save(state)
        _describe(info, show_environment=not services)
        info = _start_services(info, services, root, state, started)
        _print_addresses(started)
        _save_addresses(root, started)
        apis = {s.name: s.url for s in started if s.name in SERVICE_NAMES}
        if "audit" in apis and getattr(args, "demo", False):
            _seed_demo(apis, info.bootstrap_servers)
        if services:
            print(
                "tokens: every API call needs one; `.venv/bin/qa token S0003` mints one for a"
                " demo person (README: Tokens)"
            )
        print(table(_status_rows(info, {s.name: s.url for s in started})))
        print("Running. Press Ctrl-C to stop.", flush=True)
        _serve_until_stopped(stack, started, info, state, stop, restarts)
    except KeyboardInterrupt:
        pass
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        print("Stopping...", flush=True)
        for service in reversed(started):
            service.stop()
        stack.stop()
        state.unlink(missing_ok=True)
        (root / ADDRESSES_FILE).unlink(missing_ok=True)
    return 0


def _serve_until_stopped(
    stack: LocalStack,
    started: list[ServiceProcess],
    info: StackInfo,
    state: Path,
    stop: threading.Event,
    restarts: RestartRequests,
) -> None:
    """Until told to stop: restart parts when `qa stack restart` asks, and say when one dies."""
    watch = Watch(lambda: [*stack.dead_parts(), *(s.name for s in started if s.exited)])

    def restart(part: Part) -> str:
        done = stack.restart(part)
        services = [s.process.pid for s in started if s.process is not None]
        replace(info, child_pids=[*stack.server_pids(), *services]).save(state)
        return done

    while not stop.wait(1.0):
        restarts.serve(restart)
        for line in watch.news():
            print(line, flush=True)


def _start_services(
    info: StackInfo,
    services: tuple[str, ...],
    root: Path,
    state: Path,
    started: list[ServiceProcess],
) -> StackInfo:
    """Start `services`, then the web front over them; each joins `started` before it starts,
    so a failed start is still stopped."""
    if not services:
        return info
    web = ServiceProcess(FRONT.name, root / "logs")
    links = {"RECORD_BASE_URL": web.url}  # links in emails and inbox items open the web front
    for name in services:
        _progress(f"Starting the {name} service")
        service = ServiceProcess(name, root / "logs")
        started.append(service)
        service.start(info, links)
        info = info.with_children([service.process.pid] if service.process else [])
        info.save(state)
    _progress("Starting the web front")
    apis = {service.name: service.url for service in started}
    started.append(web)
    web.start(info, web_environment(local_issuer(root).folder, apis))
    info = info.with_children([web.process.pid] if web.process else [])
    info.save(state)
    return info


def _print_addresses(started: list[ServiceProcess]) -> None:
    """The web front first: it is what people open."""
    for service in sorted(started, key=lambda s: s.name != FRONT.name):
        if service.name == FRONT.name:
            print(
                f"web: {service.url}  (open it to sign in as a demo person)  log {service.log_file}"
            )
        else:
            print(
                f"{service.name}: API {service.url}  docs {service.url}/docs  "
                f"asyncapi {service.url}/asyncapi  "
                f"metrics {service.url}/metrics  log {service.log_file}"
            )


ADDRESSES_FILE = "addresses.json"
"""Where `qa run` notes its services' addresses, for commands that call them (`qa board-pack`)."""


def _save_addresses(root: Path, started: list[ServiceProcess]) -> None:
    addresses = {service.name: service.url for service in started}
    (root / ADDRESSES_FILE).write_text(json.dumps(addresses, indent=2) + "\n")


def board_pack(args: argparse.Namespace) -> int:
    """The month's board pack from the running stack, as the person asked (the QA lead by
    default): HTML, PDF and workbook, through the web front's own `board_pack` code."""
    from services.web.board_pack.cli import write_board_pack  # weasyprint: only when asked

    organisation = load_organisation(
        Path(os.environ.get("ORGANISATION_FILE", DEMO_ORGANISATION_FILE))
    )
    addresses_file = stack_root() / ADDRESSES_FILE
    if not (state_file().exists() and addresses_file.exists()):
        print("error: the local stack is not running: start it with `qa run`", file=sys.stderr)
        return 1
    addresses = json.loads(addresses_file.read_text())
    try:
        written = write_board_pack(
            args.month, args.staff_id, organisation, addresses, local_issuer(stack_root()), args.out
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written.files:
        print(f"wrote {path}")
    print(f"board pack {args.month}: {written.audits} audits, PDF of {written.pages} pages")
    return 0


def _seed_demo(apis: dict[str, str], bootstrap_servers: str) -> None:
    """Open cases for the programme to draw from (on `case.events`), then months of demo
    history through the services' APIs: audits, the follow-ups' conversations and re-audits
    and the moderations; a failure leaves the system running."""
    organisation = load_organisation(
        Path(os.environ.get("ORGANISATION_FILE", DEMO_ORGANISATION_FILE))
    )
    try:
        cases = publish_demo_cases(bootstrap_servers, organisation, date.today())
        _progress(f"Announced {cases} open demo cases on case.events")
    except KafkaError as exc:
        print(f"error: demo cases not announced: {exc}", file=sys.stderr)
    started = time.monotonic()
    one_line = sys.stdout.isatty()

    def show(done: int, total: int) -> None:
        if one_line:
            print(f"\r... Seeding the demo history: {done}/{total}", end="", flush=True)
        elif done % 50 == 0 or done == total:
            _progress(f"Seeding the demo history: {done}/{total}")

    try:
        issuer = local_issuer(stack_root()).ensure()
        seeded = seed_demo(apis, issuer, organisation, progress=show)
    except DemoError as exc:
        print("\n" * one_line + f"error: demo audits not seeded: {exc}", file=sys.stderr)
        return
    if one_line:
        print()
    mix = ", ".join(f"{seeded.grades[g]} {g.value.replace('_', ' ')}" for g in Grade)
    print(
        f"demo:     {seeded.created + seeded.already_there} audits over the last {MONTHS} months "
        f"({seeded.created} new, {seeded.already_there} already there; {mix}); "
        f"{seeded.conversations} conversations, {seeded.reaudits} re-audits, "
        f"{seeded.moderations} moderations recorded in {time.monotonic() - started:.1f}s"
    )


def _describe(info: StackInfo, show_environment: bool) -> None:
    print(f"broker:   {info.broker} at {info.bootstrap_servers}")
    print(f"database: {info.database}")
    if info.smtp_port is not None:
        print(f"mail:     SMTP at 127.0.0.1:{info.smtp_port}, messages saved in {info.mail_dir}")
    if not show_environment:
        return
    print("A service's environment (DATABASE_URL only when PostgreSQL is used):")
    for name, value in info.environment().items():
        print(f"  export {name}={shlex.quote(value)}")
    for service, url in info.database_urls.items():
        print(f"  {service}: export DATABASE_URL={shlex.quote(url)}")


def _progress(line: str) -> None:
    print(f"... {line}", flush=True)


def stack_status(_args: argparse.Namespace) -> int:
    """Every part and service of the running stack with its address and health; fails (1) when
    the stack is not running or any of them is unwell."""
    state = state_file()
    if not state.exists():
        print("The local stack is not running.")
        return 1
    info = StackInfo.load(state)
    rows = _status_rows(info, _running_services())
    running = _alive(info.pid)
    print(
        f"stack: {'running' if running else 'NOT RUNNING'} (pid {info.pid}), data in {stack_root()}"
    )
    print(table(rows))
    return 0 if running and all(row.healthy for row in rows) else 1


def _running_services() -> dict[str, str]:
    """The services `qa run` started for this stack (none for `qa stack up`)."""
    addresses = stack_root() / ADDRESSES_FILE
    return json.loads(addresses.read_text()) if addresses.exists() else {}


def _status_rows(info: StackInfo, services: dict[str, str]) -> list[Row]:
    front_first = dict(sorted(services.items(), key=lambda item: item[0] != FRONT.name))
    return [*stack_rows(info), *service_rows(front_first, stack_root() / "logs")]


def stack_down(_args: argparse.Namespace) -> int:
    """Stop a stack running in another terminal, or clean up after one whose `qa` died."""
    state = state_file()
    if not state.exists():
        print("The local stack is not running.")
        return 0
    info = StackInfo.load(state)
    if not _alive(info.pid):
        _clean_up_after(info, state)
        return 0
    os.kill(info.pid, signal.SIGTERM)
    print(f"Stopping the local stack (pid {info.pid})...", flush=True)
    deadline = time.monotonic() + 90
    while _alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(info.pid):
        print("It did not stop within 90 seconds.", file=sys.stderr)
        return 1
    print("Stopped.")
    return 0


def stack_restart(args: argparse.Namespace) -> int:
    """Ask the running stack to restart one of its parts (services keep their settings)."""
    state = state_file()
    if not state.exists() or not _alive(StackInfo.load(state).pid):
        print("The local stack is not running.", file=sys.stderr)
        return 1
    print(f"Restarting {args.part}...", flush=True)
    try:
        answer = ask_to_restart(stack_root().resolve(), StackInfo.load(state).pid, args.part)
    except StackError as exc:
        answer = f"error: {exc}"
    print(answer, file=sys.stderr if answer.startswith("error") else sys.stdout)
    return 1 if answer.startswith("error") else 0


def _clean_up_after(info: StackInfo, state: Path) -> None:
    """The `qa` that ran this stack died: stop the servers and services it left behind."""
    orphans = [pid for pid in info.child_pids if _alive(pid) and _is_ours(pid)]
    for pid in orphans:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in orphans) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in orphans:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    state.unlink(missing_ok=True)
    print(
        f"Cleaned up after a stack that was no longer running ({len(orphans)} processes stopped)."
    )


def _is_ours(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return any(marker in command for marker in OUR_PROCESSES)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


def schemas(args: argparse.Namespace) -> int:
    """Regenerate (or check) the JSON Schemas and the AsyncAPI documents, both from the code."""
    if not args.check:
        for path in [*write_schemas(), *write_documents()]:
            print(path)
        return 0
    if stale := stale_schemas():
        print("Stale JSON Schemas (run `qa schemas`): " + ", ".join(stale), file=sys.stderr)
    if stale_apis := stale_documents():
        print(
            "Stale AsyncAPI documents (run `qa schemas`): " + ", ".join(stale_apis),
            file=sys.stderr,
        )
    if stale or stale_apis:
        return 1
    documents = f"{len(SERVICE_NAMES)} AsyncAPI documents"
    print(f"{len(rendered_schemas())} JSON Schemas and {documents} are current.")
    return 0


MAX_TOKEN_HOURS = 12
"""The services' default cap on a token's lifetime (AUTH_MAX_TOKEN_HOURS)."""


def _positive_hours(text: str) -> float:
    hours = float(text)
    if not 0 < hours <= MAX_TOKEN_HOURS:
        raise argparse.ArgumentTypeError(
            f"between 0 and {MAX_TOKEN_HOURS} hours: the services refuse longer-lived tokens"
        )
    return hours


def token(args: argparse.Namespace) -> int:
    """Print a token signed by the local stack's key, which `qa run` services trust."""
    organisation = load_organisation(
        Path(os.environ.get("ORGANISATION_FILE", DEMO_ORGANISATION_FILE))
    )
    if not args.service and args.subject not in organisation.staff_by_id:
        print(f"error: {args.subject!r} is not in the organisation file", file=sys.stderr)
        return 2
    issuer = local_issuer(stack_root()).ensure()
    roles = ["service"] if args.service else None
    print(issuer.mint(args.subject, roles=roles, ttl_seconds=int(args.hours * 3600)))
    return 0


def purge(args: argparse.Namespace) -> int:
    state = state_file()
    stack_settings = {}
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ and state.exists():
        # Beside a running `qa run`: purge its databases, with the settings its services have.
        stack_settings = StackInfo.load(state).environment(args.service)
    try:
        with mock.patch.dict(os.environ, stack_settings):
            purged = purge_service(args.service)
    except RetentionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for what, count in purged:
        print(f"{args.service}: deleted {count} {what}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the stack and the services built so far")
    run.add_argument("--postgres", action="store_true", help="embedded PostgreSQL, not SQLite")
    run.add_argument(
        "--no-demo", dest="demo", action="store_false", help="do not seed months of demo audits"
    )
    run.set_defaults(func=run_system)
    stack = commands.add_parser("stack", help="the local Kafka broker and database")
    stack_commands = stack.add_subparsers(dest="stack_command", required=True)
    up = stack_commands.add_parser("up", help="start the stack in the foreground")
    up.add_argument("--postgres", action="store_true", help="embedded PostgreSQL, not SQLite")
    up.set_defaults(func=stack_up)
    status = stack_commands.add_parser("status", help="is the stack running?")
    status.set_defaults(func=stack_status)
    down = stack_commands.add_parser("down", help="stop a running stack")
    down.set_defaults(func=stack_down)
    restart = stack_commands.add_parser(
        "restart", help="restart one part of the running stack on the same port and data"
    )
    restart.add_argument("part", choices=PARTS)
    restart.set_defaults(func=stack_restart)
    check = commands.add_parser(
        "schemas", help="regenerate docs/schemas and docs/asyncapi from the event models"
    )
    check.add_argument("--check", action="store_true", help="fail when the committed copy is stale")
    check.set_defaults(func=schemas)
    token_command = commands.add_parser(
        "token", help="mint a bearer token for a demo staff member, for local use only"
    )
    token_command.add_argument("subject", help="a staff id (e.g. S0003), or a service name")
    token_command.add_argument(
        "--service", action="store_true", help="a machine caller's token (role: service)"
    )
    token_command.add_argument(
        "--hours", type=_positive_hours, default=8, help="lifetime (default 8)"
    )
    token_command.set_defaults(func=token)
    pack_command = commands.add_parser(
        "board-pack", help="write a month's board pack (HTML, PDF, xlsx) from the running stack"
    )
    pack_command.add_argument("month", help="the month, YYYY-MM")
    pack_command.add_argument(
        "--as", dest="staff_id", default=None, help="whose figures (default: the QA lead)"
    )
    pack_command.add_argument(
        "--out", type=Path, default=Path(".qa/board-pack"), help="where to write the files"
    )
    pack_command.set_defaults(func=board_pack)
    purge_command = commands.add_parser(
        "purge", help="delete what is past its retention period from a service's database"
    )
    purge_command.add_argument("service", choices=SERVICE_NAMES)
    purge_command.set_defaults(func=purge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
