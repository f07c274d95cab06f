#!/usr/bin/env bash
# The whole test suite: system packages, then every test of every crate. The end-to-end
# tests (tests/) run the real programs from target/debug: every binary of the workspace is
# built first, because `cargo test` builds a package's binaries only for that package's own
# integration tests (land-hall-site has none, so a clean checkout would lack it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --workspace --bins --locked
cargo test --workspace --locked "$@"
