#!/usr/bin/env bash
# Throwaway secrets for trying the compose stack out on one machine (never production): a CA,
# certificates for `kafka` and `postgres` signed by it, and a random password for each
# principal and role, written to the folder given (default ./secrets, as compose expects).
# Production secrets come from the council's own CA and password store (deploy/README.md).
# The folder is its owner's only; the files in it are readable inside the containers, which
# run as other users (qa 10001, kafka 1000, postgres 999): compose mounts each file as it is.
set -euo pipefail

out="${1:-./secrets}"
mkdir -p "$out"
chmod 700 "$out"
cd "$out"
umask 022

password() { openssl rand -hex 24; }  # hex: safe for Kafka's StorageTool and for psql

for name in admin audit moderation scheduler notifications case-management; do
    password > "kafka-user-$name"
done
for db in audit moderation scheduler notifications; do
    password > "db-$db-owner"
    password > "db-$db-app"
done
password > postgres-superuser
password > grafana-admin-password
: > smtp-password  # Mailpit takes no login

ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc)
openssl req -x509 "${ec[@]}" -keyout qa-ca.key -out qa-ca.pem -days 30 \
    -subj "/CN=qa-platform throwaway dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
for host in kafka postgres; do
    openssl req "${ec[@]}" -keyout "$host.key" -out "$host.csr" -subj "/CN=$host" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$host" > "$host.ext"
    openssl x509 -req -in "$host.csr" -CA qa-ca.pem -CAkey qa-ca.key -CAcreateserial \
        -days 30 -extfile "$host.ext" -out "$host.crt" 2>/dev/null
done
cat kafka.key kafka.crt qa-ca.pem > kafka-keystore.pem
cp postgres.crt postgres-cert.pem
cp postgres.key postgres-key.pem
# PostgreSQL reads its key only if no one else can: root's with group postgres (999), 0640.
chmod 640 postgres-key.pem
chgrp 999 postgres-key.pem 2>/dev/null || echo "run: sudo chown root:999 $out/postgres-key.pem" >&2
rm -f ./*.csr ./*.ext ./*.srl qa-ca.key kafka.key kafka.crt postgres.key postgres.crt
echo "secrets written to $(pwd)"
