#!/usr/bin/env bash
# THE run command (README): installs what is missing, builds, and starts the whole product on
# this machine in demo mode — the Cloud API simulator (standing in for Meta), the relay that
# receives its webhooks, and the desktop app.
# Stop everything with Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

scripts/install-deps.sh

echo "==> building the UI and the binaries (the first build takes several minutes)"
(cd ui && npm run --silent build)
# Two builds, as scripts/test.sh does them: building the app together with the servers would
# unify their features into a third variant of every shared crate (a cold build of its own).
cargo build --locked -p dataoptix --features dataoptix/custom-protocol
cargo build --locked -p dataoptix-sim -p dataoptix-relay
bin_dir="$CARGO_TARGET_DIR/debug"

state_dir="${DATAOPTIX_DEMO_DIR:-$HOME/.local/share/dataoptix-demo}"
mkdir -p "$state_dir"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

sim_port="${DATAOPTIX_SIM_PORT:-18080}"
relay_port="${DATAOPTIX_RELAY_PORT:-18443}"
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
app_secret="demo-app-secret-$(random_hex 8)"
# The simulator plays Meta's app: the relay's Embedded Signup page loads the simulator's SDK.
app_id="4242424242424242"

# The relay's secrets live only in its environment, as in production.
echo "==> starting the relay on 127.0.0.1:$relay_port"
DATAOPTIX_RELAY_LISTEN="127.0.0.1:$relay_port" \
DATAOPTIX_RELAY_PUBLIC_ORIGIN="http://127.0.0.1:$relay_port" \
DATAOPTIX_RELAY_DATA_DIR="$state_dir/relay" \
DATAOPTIX_RELAY_META_APP_SECRET="$app_secret" \
DATAOPTIX_RELAY_META_VERIFY_TOKEN="demo-verify-$(random_hex 8)" \
DATAOPTIX_RELAY_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)" \
DATAOPTIX_RELAY_GRAPH_BASE_URL="http://127.0.0.1:$sim_port" \
DATAOPTIX_RELAY_META_APP_ID="$app_id" \
DATAOPTIX_RELAY_META_CONFIG_ID="demo-embedded-signup" \
DATAOPTIX_RELAY_SDK_URL="http://127.0.0.1:$sim_port/sdk.js" \
  "$bin_dir/dataoptix-relay" serve > "$state_dir/relay.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$relay_port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$relay_port/healthz" >/dev/null || {
  echo "error: the relay did not start; see $state_dir/relay.log" >&2
  exit 1
}

echo "==> starting the Cloud API simulator on 127.0.0.1:$sim_port"
"$bin_dir/dataoptix-sim" --listen "127.0.0.1:$sim_port" --app-secret "$app_secret" --app-id "$app_id" \
  --webhook-url "http://127.0.0.1:$relay_port/webhooks/meta" --personas \
  > "$state_dir/sim.out" 2> "$state_dir/sim.log" &
pids+=($!)
for _ in $(seq 1 100); do
  [ -s "$state_dir/sim.out" ] && break
  sleep 0.1
done
if ! head -n 1 "$state_dir/sim.out" | jq -e . >/dev/null 2>&1; then
  echo "error: the simulator did not start; see $state_dir/sim.log" >&2
  exit 1
fi
sim_info=$(head -n 1 "$state_dir/sim.out")
echo "    simulated number: $(jq -r .display_phone_number <<<"$sim_info") (phone number id $(jq -r .phone_number_id <<<"$sim_info"), WABA $(jq -r .waba_id <<<"$sim_info"))"

# The sign-up form suggests the demo relay; the app learns the Graph API (the simulator)
# from the relay once signed in.
export DATAOPTIX_DEFAULT_RELAY="http://127.0.0.1:$relay_port"
export DATAOPTIX_DATA_DIR="$state_dir/app"
echo "==> starting the DataOptix desktop app"
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  "$bin_dir/dataoptix" &
  pids+=($!)
else
  echo "    no display found: running the window on a virtual screen (Xvfb :77);"
  echo "    a screenshot is written to $state_dir/screenshot.png after a few seconds"
  Xvfb :77 -screen 0 1280x800x24 -nolisten tcp >"$state_dir/xvfb.log" 2>&1 &
  pids+=($!)
  sleep 1
  # A private session bus with an unlocked keyring, as a desktop session would have.
  DISPLAY=:77 dbus-run-session -- sh -c 'echo -n demo | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$0"' "$bin_dir/dataoptix" &
  pids+=($!)
  (sleep 8; DISPLAY=:77 import -window root "$state_dir/screenshot.png" 2>/dev/null || true) &
fi
echo "==> running; press Ctrl+C to stop"
wait "${pids[-1]}"
