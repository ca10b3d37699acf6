#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine,
# then runs every test of the workspace. `.ci/run` calls it.
#
#   scripts/test.sh [cargo test arguments...]
#
# The report tests render pages in headless Chromium (Debian's package, or a
# Chrome binary named by RELKPI_CHROMIUM); the real-export tests read
# ../shared/data. The first run compiles DuckDB from source: about 49 minutes
# on a fresh 2-core machine (`cargo run -- demo` took 48 min 43 s), nearly all
# of it DuckDB; later runs reuse the build (CARGO_TARGET_DIR, if set).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
    && [ -z "${RELKPI_CHROMIUM:-}" ]; then
  echo "scripts/test.sh: installing Chromium for the report tests (Debian's package)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d ../shared/data ]; then
  echo "scripts/test.sh: ../shared/data is missing; the tests on real exports will fail" >&2
fi
# Snapshot files are found from the project at run time: cargo reuses a test
# binary built from the same sources in another clone sharing the target
# directory, and insta would otherwise look beside that clone's (baked-in) path.
export INSTA_WORKSPACE_ROOT="${INSTA_WORKSPACE_ROOT:-$PWD}"
exec cargo test --workspace --locked "$@" 2>&1
