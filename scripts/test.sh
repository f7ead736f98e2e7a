#!/usr/bin/env bash
# THE test command (README): installs what is missing, then runs every check and every test —
# formatting, lints, UI type-check/lint/unit tests, and all Rust tests including the end-to-end
# test of the real window under Xvfb. Exits non-zero on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
started=$(date +%s)
stage() { echo; echo "==> [$(( $(date +%s) - started ))s] $*"; }

stage "install what is missing"
scripts/install-deps.sh

stage "UI: type-check, lint, unit tests, build"
(cd ui && npm run --silent check && npm run --silent lint && npm test --silent && npm run --silent build)

stage "Rust: formatting"
cargo fmt --all -- --check

# The app is built with `custom-protocol` so the tested binary embeds the UI (no dev server);
# every cargo step uses the same features so nothing is compiled twice.
features=(--features dataoptix/custom-protocol)

stage "Rust: clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked "${features[@]}" -- -D warnings

stage "Rust: build the app binary for the end-to-end tests"
cargo build -p dataoptix --locked "${features[@]}"

stage "Rust: all tests (nextest)"
cargo nextest run --workspace --locked "${features[@]}" --profile ci
cargo test --workspace --doc --locked "${features[@]}"

stage "done in $(( $(date +%s) - started ))s"
