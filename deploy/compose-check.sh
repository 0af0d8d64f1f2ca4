#!/usr/bin/env bash
# Proves docker-compose.yml as shipped under a real container engine (podman, as root): builds
# the base and stand-in images (cached), brings the stack up with the dev profile and only the
# image names overridden, waits for every health check, records an Inadequate audit on the web
# front and finds its email at the mail catcher, checks Prometheus scrapes every service, and
# brings everything down, also on failure. Prints one line: compose: build Xs up Ys journey Zs
# down Ws. Needs: podman runc mmdebstrap maven openssl (Debian), the project's .venv.
# The work is tooling/compose_check.py; stand-ins: deploy/standins/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec "${PYTHON:-.venv/bin/python}" -m tooling.compose_check "$@"
