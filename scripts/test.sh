#!/usr/bin/env bash
# The whole test suite: system packages, then every test of every crate. The end-to-end
# tests run the real programs, which `cargo test --workspace` builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked "$@"
