#!/usr/bin/env bash
# Runs one of Kafka's main classes with the image's jars, as upstream's script of this name.
set -euo pipefail
class="$1"
shift
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -Dkafka.logs.dir=/opt/kafka/logs \
    -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties \
    -cp '/opt/kafka/libs/*' "$class" "$@"
