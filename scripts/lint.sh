#!/usr/bin/env bash
# cargo fmt --check and clippy with -D warnings, through the ordinary build
# profile: plain `cargo clippy` runs DuckDB's build script in check mode and so
# compiles DuckDB a second time (about an hour on 2 cores). Running
# clippy-driver as the workspace wrapper lints relkpi's own code and reuses the
# DuckDB build that `cargo test` made.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/relkpi-target}"
cargo fmt --check
RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver" \
CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" \
  cargo build --workspace --all-targets
