#!/usr/bin/env bash
# Start go_orders (built on first use, see build.sh) with the given arguments, e.g. run.sh --port 8002.
set -euo pipefail
bin="$(bash "$(dirname "${BASH_SOURCE[0]}")/build.sh")"
exec "$bin" "$@"
