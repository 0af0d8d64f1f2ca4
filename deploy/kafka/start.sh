#!/usr/bin/env bash
# The compose Kafka container's command. At the first start the storage is formatted with a
# SCRAM-SHA-512 user for each secret file named kafka-user-<principal> (the admin, each
# service, the case management system): KRaft takes its first SCRAM users only this way.
# Later starts reuse the data; add or change a user then with kafka-configs.sh (README).
set -euo pipefail

secrets="${SECRETS_DIR:-/run/secrets}"
config="${KAFKA_CONFIG:-/etc/qa-platform/kafka/server.properties}"
data="$(sed -n 's/^log\.dirs=//p' "$config")"

if [[ ! -f "$data/meta.properties" ]]; then
    users=()
    for file in "$secrets"/kafka-user-*; do
        [[ -s "$file" ]] || { echo "start.sh: secret ${file##*/} is missing or empty" >&2; exit 1; }
        name="${file##*/kafka-user-}"
        password="$(head -n 1 "$file" | tr -d '\r\n')"
        # StorageTool parses name=...,password=... inside [...]: these would break it.
        if [[ "$password" =~ [][[:space:],=\"\'] ]]; then
            echo "start.sh: the password of $name has a space, comma, =, [, ] or quote" >&2
            exit 1
        fi
        users+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$password]")
    done
    ((${#users[@]})) || { echo "start.sh: no kafka-user-* secret under $secrets" >&2; exit 1; }
    /opt/kafka/bin/kafka-storage.sh format --config "$config" \
        --cluster-id "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" "${users[@]}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$config"
