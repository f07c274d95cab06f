#!/usr/bin/env bash
# The demo, everything on this machine:
#   - egov-sim, the e-government server, on http://127.0.0.1:8080 with a seeded province;
#   - the sample content (config/content-sample) built, signed with the demo key and published;
#   - the kiosk (config/kiosk.toml): its touch screen in a window where a display exists
#     (X11 or Wayland), else its data plane alone with every screen drawn to
#     demo-data/screens/; either way syncing cases and content and sending heartbeats;
#   - a simulated Garmin handheld on a pseudo-terminal, read by a gps-bridge daemon, whose
#     active route (a homestead beside 桂阳县樟市镇国土所) is checked, pre-checked against the
#     synced parcel and mining-right layers, and delivered to egov-sim; `gps-bridge plots`
#     then shows it delivered.
# Data and logs stay in ./demo-data for the next run. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p egov-sim -p kiosk -p gps-bridge

bin="$PWD/target/release"
data="$PWD/demo-data"
upstream="http://127.0.0.1:8080"
mkdir -p "$data/egov" "$data/bridge/run"

children=()
stop() { kill "${children[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

# Starts a program in the background, logging to demo-data/NAME.log.
start() {
    local name=$1
    shift
    "$@" >"$data/$name.log" 2>&1 &
    children+=($!)
}

# Waits until FILE contains PATTERN (a program said it is ready).
await() {
    local file=$1 pattern=$2
    for _ in $(seq 600); do
        grep -q "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.5
    done
    echo "demo: gave up waiting for '$pattern' in $file" >&2
    exit 1
}

echo "demo: starting egov-sim (the first start seeds 20,000 cases)" >&2
# Lookup digests at the demo cost: 20,000 at the standard cost would take minutes to seed.
start egov-sim "$bin/egov-sim" --listen 127.0.0.1:8080 --data "$data/egov" \
    --cases 20000 --speedup 600 --lookup-cost demo
await "$data/egov-sim.log" "listening on"

# Every device has its own token, bound to its id and hall; the demo's kiosk config is the
# example config with this kiosk's fresh token (issuing again replaces the previous one).
kiosk_token=$("$bin/egov-sim" --data "$data/egov" device add gy-hall-kiosk-01 --hall hn-czs-gyx)
sed -e "s|^token = .*|token = \"$kiosk_token\"|" -e 's|^data_dir = .*|data_dir = "kiosk"|' \
    config/kiosk.toml >"$data/kiosk.toml"
chmod 600 "$data/kiosk.toml"

echo "demo: building and publishing the sample content" >&2
"$bin/kiosk-admin" build config/content-sample --key config/content-sample/.demo-signing.key \
    --out "$data/content-release" --publisher demo >/dev/null
"$bin/kiosk-admin" publish "$data/content-release" --to "$upstream" --token demo-admin-token

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    echo "demo: starting the kiosk: its screen opens in a window" >&2
    # The software renderer, as on the kiosk; no way out of the app but Ctrl-C here.
    export SLINT_BACKEND="${SLINT_BACKEND:-winit-software}"
    start kiosk "$bin/kiosk" --config "$data/kiosk.toml" run
    kiosk_screen="the kiosk's screen is the window that opened (Chinese; English at the top right)"
else
    echo "demo: no display here: starting the kiosk's data plane alone and drawing its screens" >&2
    start kiosk "$bin/kiosk" --config "$data/kiosk.toml" run --headless
    "$bin/kiosk" --config "$data/kiosk.toml" --screenshots "$data/screens" >/dev/null
    kiosk_screen="no display here: every kiosk screen is drawn in $data/screens/*.png
  (for the live screen: Xvfb :99 & DISPLAY=:99 $bin/kiosk --config $data/kiosk.toml run,
  after stopping this demo's kiosk — one kiosk owns its data folder)"
fi

echo "demo: starting a simulated handheld and the gps-bridge" >&2
# A homestead plot beside 桂阳县樟市镇国土所, partly on a seeded parcel. The simulated officer
# stands 45 s at each corner and walks to the next; the simulator's log says where they are.
start simulator "$bin/gps-bridge" simulate --route config/demo-plot.geojson --sigma 2 --dwell 45
await "$data/simulator.log" "/dev/"
ln -sfn "$(head -n 1 "$data/simulator.log")" "$data/bridge/garmin"
# The bridge's own token, bound to it and its land office (plots of another office are 403).
bridge_token=$("$bin/egov-sim" --data "$data/egov" device add bridge-zs-01 --hall hn-gyx-zsz)
cat >"$data/bridge/gps-bridge.toml" <<TOML
# Written by scripts/demo.sh: the bridge reads the simulator's pseudo-terminal.
database = "$data/bridge/survey.db"
runtime_dir = "$data/bridge/run"
[serial]
ports = ["$data/bridge/garmin"]
[upstream]
url = "$upstream"
token = "$bridge_token"
device_id = "bridge-zs-01"
office_id = "hn-gyx-zsz"
[heartbeat]
interval_s = 10.0
TOML
chmod 600 "$data/bridge/gps-bridge.toml"
start gps-bridge "$bin/gps-bridge" --config "$data/bridge/gps-bridge.toml" run

# The handheld sends its active route; the bridge records it once (also across restarts),
# checks it into the outbox and delivers it.
echo "demo: waiting for the handheld's route to reach egov-sim" >&2
bridge=("$bin/gps-bridge" --config "$data/bridge/gps-bridge.toml")
for _ in $(seq 600); do
    "${bridge[@]}" plots --json 2>/dev/null | grep -q '"state": "delivered"' && break
    sleep 0.5
done
"${bridge[@]}" plots
"${bridge[@]}" show 1 --svg "$data/plot-1.svg" >/dev/null

# A case of the kiosk's hall (郴州市桂阳县政务大厅), as "case_no,code".
lookup=$(awk '/^GY/ { print; exit }' "$data/egov/demo-lookups.txt")
cat >&2 <<TEXT

demo: running. Logs are in $data/*.log; $kiosk_screen.
Try, in another terminal:
  $bin/kiosk --config $data/kiosk.toml lookup ${lookup%%,*} ${lookup##*,}
  $bin/kiosk --config $data/kiosk.toml status
  $bin/kiosk-admin fleet --upstream $upstream --token demo-admin-token
  $bin/gps-bridge --config $data/bridge/gps-bridge.toml status
  tail -f $data/simulator.log   # which corner the simulated officer stands at
  $bin/gps-bridge --config $data/bridge/gps-bridge.toml mark J1 --secs 10   # while at J1
  $bin/gps-bridge --config $data/bridge/gps-bridge.toml close-plot demo-homestead
  $bin/gps-bridge --config $data/bridge/gps-bridge.toml plots     # the plots and their state
  $bin/gps-bridge --config $data/bridge/gps-bridge.toml show 1    # the route's plot; drawn in $data/plot-1.svg
More case numbers and codes: $data/egov/demo-lookups.txt. Ctrl-C stops everything.
TEXT
wait
