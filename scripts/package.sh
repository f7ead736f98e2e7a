#!/usr/bin/env bash
# Builds the Linux installer of DataOptix and checks it (README "Packaging"):
#
#   ./scripts/package.sh             # release build, then the .deb
#   ./scripts/package.sh --debug     # the .deb of the debug build (what scripts/test.sh checks)
#   ./scripts/package.sh --appimage  # also try the AppImage (see below)
#
# scripts/test.sh runs `--debug --no-build --self-test`: it bundles the debug binary it built
# for the end-to-end tests (same features) and proves the checks catch broken packages.
#
# The bundle lands in $CARGO_TARGET_DIR/<release|debug>/bundle/deb/ and is checked by
# scripts/check-deb.sh (binary, icons, desktop entry with `%u` and the dataoptix:// scheme,
# dependencies). The Tauri CLI is @tauri-apps/cli, pinned in ui/package.json to the version of
# the tauri crate in Cargo.lock, installed by scripts/install-deps.sh like the other UI packages.
#
# AppImage: Tauri's AppImage bundler downloads linuxdeploy, its GTK plugin and AppRun from
# GitHub at bundle time; a machine that reaches only package registries cannot build it, so it
# is tried only when asked for, and its failure is reported without failing the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

profile=release
appimage=false
build=true
check=()
for arg in "$@"; do
  case "$arg" in
    --debug) profile=debug ;;
    --appimage) appimage=true ;;
    --no-build) build=false ;;
    --self-test) check=(--self-test) ;;
    *) echo "usage: $0 [--debug] [--no-build] [--self-test] [--appimage]" >&2; exit 2 ;;
  esac
done
cargo_profile=(); bundle_profile=()
if [ "$profile" = release ]; then cargo_profile=(--release); else bundle_profile=(--debug); fi

scripts/install-deps.sh

if [ "$build" = true ]; then
  echo "==> building the UI and the $profile binary (UI embedded: custom-protocol)"
  npm --prefix ui run --silent build
  cargo build -p dataoptix --bins --locked "${cargo_profile[@]}" --features dataoptix/custom-protocol
elif [ ! -x "$CARGO_TARGET_DIR/$profile/dataoptix" ]; then
  echo "error: --no-build, but $CARGO_TARGET_DIR/$profile/dataoptix is not built" >&2
  exit 1
fi

# `tauri bundle` packages the binary built above (it builds nothing itself), so the same build
# serves the tests, the benchmark and the installer.
tauri=ui/node_modules/.bin/tauri
bundle_dir="$CARGO_TARGET_DIR/$profile/bundle"
rm -rf "$bundle_dir/deb"
echo "==> bundling the .deb"
"$tauri" bundle --ci --bundles deb "${bundle_profile[@]}"
deb=$(find "$bundle_dir/deb" -maxdepth 1 -name '*.deb' -print -quit)
if [ -z "$deb" ]; then
  echo "error: tauri bundle finished but left no .deb in $bundle_dir/deb" >&2
  exit 1
fi
scripts/check-deb.sh "${check[@]}" "$deb"

if [ "$appimage" = true ]; then
  echo "==> bundling the AppImage (downloads linuxdeploy and its plugins from GitHub)"
  if "$tauri" bundle --ci --bundles appimage "${bundle_profile[@]}"; then
    find "$bundle_dir/appimage" -maxdepth 1 -name '*.AppImage' -printf 'AppImage: %p\n'
  else
    echo "warning: the AppImage was not built: Tauri's AppImage bundler fetches linuxdeploy" \
      "from GitHub, which this machine cannot reach (the .deb above is fine)" >&2
  fi
fi
echo "==> $deb"
