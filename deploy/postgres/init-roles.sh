#!/usr/bin/env bash
# First start of the compose PostgreSQL (docker-entrypoint-initdb.d): for each database named
# in QA_DATABASES, its owner and app roles (roles.sql) with passwords from the secret files
# db-<name>-owner and db-<name>-app under SECRETS_DIR (default /run/secrets). No password is
# ever on a command line or in the compose file.
set -euo pipefail

secrets="${SECRETS_DIR:-/run/secrets}"
here="$(dirname "${BASH_SOURCE[0]}")"
roles_sql="${ROLES_SQL:-$here/roles.sql}"
: "${QA_DATABASES:?name the service databases, e.g. QA_DATABASES='audit moderation'}"

secret() {
    local file="$secrets/$1"
    [[ -s "$file" ]] || { echo "init-roles: secret $1 is missing or empty" >&2; exit 1; }
    # Only the first line: files written by editors often end with a newline.
    head -n 1 "$file" | tr -d '\r\n'
}

# A psql meta-command argument in single quotes: backslashes and quotes doubled.
quoted() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")"; }

for db in $QA_DATABASES; do
    [[ "$db" =~ ^[a-z][a-z0-9_]*$ ]] || { echo "init-roles: bad database name $db" >&2; exit 1; }
    owner_password="$(secret "db-$db-owner")"
    app_password="$(secret "db-$db-app")"
    # psql reads the variables from its standard input, never from its arguments.
    {
        printf '\\set owner_password %s\n' "$(quoted "$owner_password")"
        printf '\\set app_password %s\n' "$(quoted "$app_password")"
        cat "$roles_sql"
    } | psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" \
        --dbname postgres -v db="$db" -v owner="${db}_owner" -v app="${db}_app"
    echo "init-roles: database $db with roles ${db}_owner and ${db}_app"
done
