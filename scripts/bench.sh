#!/usr/bin/env bash
# Runs the criterion benchmarks of the native client against the local test server.
# Each figure has a peer measured in the same run; compare ratios, not times.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p mcp-oauth-tests --bench client "$@"
