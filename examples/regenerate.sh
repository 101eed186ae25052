#!/usr/bin/env bash
# Regenerate examples/plugins/*/drizzle with real drizzle-kit releases.
# Thin wrapper: the pinned versions and the generation logic live in
# tests/fixtures/drizzle-kit/regenerate.sh.
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fixtures/drizzle-kit/regenerate.sh" examples
