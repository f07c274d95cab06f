#!/usr/bin/env bash
# The demo: a seeded e-government server (egov-sim) on 127.0.0.1:8080 with its SQLite file
# under ./demo-data, plus whatever of the bridge and the kiosk is wired in below.
# Stop with Ctrl-C; the data stays for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p egov-sim
data="${LAND_HALL_DEMO_DATA:-demo-data}"
mkdir -p "$data"
echo "demo: egov-sim on http://127.0.0.1:8080, data in $data/egov" >&2
echo "demo: try case numbers and codes from $data/egov/demo-lookups.txt" >&2
exec target/release/egov-sim --listen 127.0.0.1:8080 --data "$data/egov" --cases 20000 --speedup 600
