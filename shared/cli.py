"""`qa`: the project's command line: the local stack, and the event schemas."""

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from shared.events.schemas import SCHEMA_DIR, rendered_schemas, write_schemas
from shared.localstack.processes import StackError, port_open
from shared.localstack.services import BUILT_SERVICES, ServiceProcess
from shared.localstack.stack import LocalStack, StackInfo
from shared.migrations import SERVICES


def stack_root() -> Path:
    """Where the local stack keeps its data (QA_STACK_DIR, default .qa/stack)."""
    return Path(os.environ.get("QA_STACK_DIR", ".qa/stack"))


def state_file() -> Path:
    return stack_root() / "stack.json"


def stack_up(args: argparse.Namespace) -> int:
    """Start the stack in the foreground until Ctrl-C or SIGTERM, then stop it cleanly."""
    return _run_in_foreground(args, services=())


def run_system(args: argparse.Namespace) -> int:
    """The stack plus every service built so far, each as its own process."""
    return _run_in_foreground(args, services=BUILT_SERVICES)


def _run_in_foreground(args: argparse.Namespace, services: tuple[str, ...]) -> int:
    state = state_file()
    if state.exists() and _alive(StackInfo.load(state).pid):
        print("The local stack is already running (see `qa stack status`).", file=sys.stderr)
        return 1
    root = stack_root().resolve()
    root.mkdir(parents=True, exist_ok=True)
    stack = LocalStack(root, "postgres" if args.postgres else "sqlite")
    started: list[ServiceProcess] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        info = stack.start(progress=_progress)
        info.save(state)
        print(f"broker:   {info.broker} at {info.bootstrap_servers}")
        print(f"database: {info.database}")
        for name in services:
            _progress(f"Starting the {name} service")
            service = ServiceProcess(name, root / "logs")
            started.append(service)
            service.start(info, data_dir=root / "data")
            print(
                f"{name}: API {service.url}  docs {service.url}/docs  "
                f"metrics {service.url}/metrics  log {service.log_file}"
            )
        if not services:
            for name, value in info.environment().items():
                print(f"  export {name}={value}")
        missing = [name for name in SERVICES if name not in services]
        if services and missing:
            print(f"Not built yet, so not started: {', '.join(missing)}.")
        print("Running. Press Ctrl-C to stop.", flush=True)
        stop.wait()
    except KeyboardInterrupt:
        pass
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping...", flush=True)
        for service in reversed(started):
            service.stop()
        stack.stop()
        state.unlink(missing_ok=True)
    return 0


def _progress(line: str) -> None:
    print(f"... {line}", flush=True)


def stack_status(_args: argparse.Namespace) -> int:
    state = state_file()
    if not state.exists():
        print("The local stack is not running.")
        return 1
    info = StackInfo.load(state)
    port = int(info.bootstrap_servers.rsplit(":", 1)[1])
    healthy = _alive(info.pid) and port_open(port)
    print(f"stack:    {'running' if healthy else 'NOT RESPONDING'} (pid {info.pid})")
    print(f"broker:   {info.broker} at {info.bootstrap_servers}")
    print(f"database: {info.database}")
    return 0 if healthy else 1


def stack_down(_args: argparse.Namespace) -> int:
    state = state_file()
    if not state.exists():
        print("The local stack is not running.")
        return 0
    pid = StackInfo.load(state).pid
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        print(f"Asked the local stack (pid {pid}) to stop.")
    else:
        state.unlink()
        print("Removed the record of a stack that was no longer running.")
    return 0


def schemas(args: argparse.Namespace) -> int:
    if not args.check:
        for path in write_schemas():
            print(path)
        return 0
    stale = [
        name
        for name, text in rendered_schemas().items()
        if not (SCHEMA_DIR / name).exists() or (SCHEMA_DIR / name).read_text() != text
    ]
    if stale:
        print("Stale JSON Schemas (run `qa schemas`): " + ", ".join(stale), file=sys.stderr)
        return 1
    print(f"{len(rendered_schemas())} JSON Schemas are current.")
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    stack = commands.add_parser("stack", help="the local Kafka broker and database")
    stack_commands = stack.add_subparsers(dest="stack_command", required=True)
    up = stack_commands.add_parser("up", help="start the stack in the foreground")
    up.add_argument("--postgres", action="store_true", help="embedded PostgreSQL, not SQLite")
    up.set_defaults(func=stack_up)
    stack_commands.add_parser("status", help="is the stack running?").set_defaults(
        func=stack_status
    )
    stack_commands.add_parser("down", help="stop a running stack").set_defaults(func=stack_down)
    run = commands.add_parser("run", help="run the system locally on embedded defaults")
    run.add_argument("--postgres", action="store_true", help="embedded PostgreSQL, not SQLite")
    run.set_defaults(func=run_system)
    check = commands.add_parser("schemas", help="regenerate docs/schemas from the event models")
    check.add_argument("--check", action="store_true", help="fail when the committed copy is stale")
    check.set_defaults(func=schemas)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
