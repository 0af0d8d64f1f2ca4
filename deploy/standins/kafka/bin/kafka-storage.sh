#!/usr/bin/env bash
KAFKA_HEAP_OPTS=-Xmx128m exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
