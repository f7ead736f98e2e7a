#!/usr/bin/env bash
# Installs whatever is missing to build, run and test DataOptix on Debian/Ubuntu: system packages
# (apt, only when `dpkg -s` says one is missing), Rust tools (cargo-nextest, tauri-driver) and the
# UI's npm packages (only when package-lock.json changed). Safe and fast to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

APT_PACKAGES=(
  # Tauri / WebKitGTK build
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev librsvg2-dev
  libayatana-appindicator3-dev build-essential pkg-config libssl-dev curl file jq
  # libopus, built from source and linked statically for voice notes (the `opus` crate)
  cmake
  # Headless window, WebDriver, screenshots
  xvfb xauth webkit2gtk-driver imagemagick xdotool x11-utils
  # Real Secret Service for the keyring tests, D-Bus sessions, deep links
  dbus dbus-x11 gnome-keyring libsecret-1-dev libsecret-tools xdg-utils keyutils
  # chattr: a test makes a file impossible to remove (an erasure stopped halfway)
  e2fsprogs
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing system packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: Rust is not installed. Install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: Node.js 20 or newer with npm is needed for the UI (e.g. from NodeSource or nvm)." >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "error: Node.js $(node --version) is too old; the UI build needs Node.js 20 or newer." >&2
  exit 1
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "==> installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "==> installing tauri-driver"
  cargo install tauri-driver --locked
fi

# npm ci wipes node_modules, so run it only when the lock file changed since the last install.
lock_sum=$(sha256sum ui/package-lock.json | cut -d' ' -f1)
stamp=ui/node_modules/.dataoptix-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "==> installing UI packages (npm ci)"
  (cd ui && npm ci --no-audit --no-fund)
  echo "$lock_sum" > "$stamp"
fi
