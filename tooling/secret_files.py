"""The image's entrypoint: each NAME__FILE variable becomes NAME, read from that file.

Compose mounts secrets as files under /run/secrets; the settings read variables. So a
password never has to be written into the compose file or the environment the engine shows:
`KAFKA_SASL_PASSWORD__FILE=/run/secrets/kafka-user-audit` gives the service
`KAFKA_SASL_PASSWORD`, and `PGPASSWORD__FILE` libpq's `PGPASSWORD`. (The double underscore
keeps real settings such as AUTH_JWKS_FILE, a path the service itself reads, as they are.)

    python -m tooling.secret_files python -m services.audit
"""

import os
import sys
from collections.abc import Mapping
from pathlib import Path

SUFFIX = "__FILE"


def with_secrets_read(environment: Mapping[str, str]) -> dict[str, str]:
    """`environment` with every NAME__FILE replaced by NAME = the file's first line."""
    resolved = {name: value for name, value in environment.items() if not name.endswith(SUFFIX)}
    for name, path in environment.items():
        if name.endswith(SUFFIX):
            lines = Path(path).read_text().splitlines()
            resolved[name.removesuffix(SUFFIX)] = lines[0] if lines else ""
    return resolved


def main(argv: list[str] | None = None) -> int:
    command = argv if argv is not None else sys.argv[1:]
    if not command:
        print("usage: python -m tooling.secret_files COMMAND [ARGS...]", file=sys.stderr)
        return 2
    try:
        environment = with_secrets_read(os.environ)
    except OSError as exc:
        print(f"error: a secret file cannot be read: {exc}", file=sys.stderr)
        return 1
    os.execvpe(command[0], command, environment)  # noqa: S606 (the image's own command)
    raise AssertionError("unreachable: exec replaced this process")


if __name__ == "__main__":
    raise SystemExit(main())
