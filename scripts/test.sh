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
scripts/prune-target.sh

stage "UI: type-check, lint, unit tests, build"
ui_report="${TMPDIR:-/tmp}/dataoptix-vitest-$$.json"
(cd ui && npm run --silent check && npm run --silent lint \
  && npx vitest run --reporter=default --reporter=json --outputFile.json="$ui_report" \
  && npm run --silent build)
# Vitest's own summary is not a line CI reads; print the plain one.
jq -r '"ui unit tests: \(.numPassedTests) passed, \(.numFailedTests) failed"' "$ui_report"
rm -f "$ui_report"

stage "Rust: formatting"
cargo fmt --all -- --check
# The fuzz crate is a workspace of its own (FUZZING.md).
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

# The app is built with `custom-protocol` so the tested binary embeds the UI (no dev server);
# every cargo step uses the same features so nothing is compiled twice.
features=(--features dataoptix/custom-protocol)

stage "Rust: clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked "${features[@]}" -- -D warnings

# The end-to-end tests drive the app binary; the fault-injection tests (tests/faults) run,
# kill and restart the relay and the CLI as child processes.
stage "Rust: build the binaries the end-to-end and fault-injection tests run"
cargo build -p dataoptix -p dataoptix-relay -p dataoptix-core --bins --locked "${features[@]}"

# The .deb of the binary just built (tauri bundle builds nothing; ~40 s), checked, and the
# checks proven to catch broken packages (README "Packaging").
stage "Packaging: the .deb of that build, checked"
scripts/package.sh --debug --no-build --self-test

stage "Rust: documentation examples"
cargo test --workspace --doc --locked "${features[@]}"

# A few seconds per fuzz target (FUZZING.md has the long runs): builds them with the stable
# codegen flags in a target dir of their own, fails the run on any crash.
stage "Fuzzing: smoke run (${FUZZ_SMOKE_SECONDS:-5} s per target)"
scripts/fuzz.sh smoke

# Last, so that its summary is the closing line of the run.
stage "Rust: all tests (nextest)"
cargo nextest run --workspace --locked "${features[@]}" --profile ci

echo "==> all checks passed in $(( $(date +%s) - started ))s"
