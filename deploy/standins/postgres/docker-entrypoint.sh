#!/usr/bin/env bash
# The official image's first start, as far as docker-compose.yml uses it: an empty PGDATA is
# initialised with POSTGRES_USER (default postgres) and POSTGRES_PASSWORD or
# POSTGRES_PASSWORD_FILE, then every /docker-entrypoint-initdb.d file runs in name order (*.sh
# executed if executable, else sourced; *.sql through psql) against a server that listens on
# its socket only, with the command's own settings; then the command runs.
set -euo pipefail

if [[ "${1:-}" == -* ]]; then set -- postgres "$@"; fi
if [[ "${1:-}" != postgres ]]; then exec "$@"; fi

export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
if [[ -n "${POSTGRES_PASSWORD_FILE:-}" ]]; then
    POSTGRES_PASSWORD="$(<"$POSTGRES_PASSWORD_FILE")"
fi
: "${POSTGRES_PASSWORD:?the official image refuses to start without POSTGRES_PASSWORD}"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-} >/dev/null
    # As the official image: every address (pg_hba.conf decides who may connect).
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    pg_ctl -D "$PGDATA" -w -o "$(printf '%q ' "${@:2}") -c listen_addresses=''" start >/dev/null
    export PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql
    if [[ "$POSTGRES_DB" != postgres ]]; then
        psql -v ON_ERROR_STOP=1 --no-psqlrc --dbname postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    for file in /docker-entrypoint-initdb.d/*; do
        case "$file" in
            *.sh)
                if [[ -x "$file" ]]; then "$file"; else . "$file"; fi ;;
            *.sql)
                psql -v ON_ERROR_STOP=1 --no-psqlrc --dbname "$POSTGRES_DB" -f "$file" ;;
            *) ;;
        esac
    done
    unset PGUSER PGHOST
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
