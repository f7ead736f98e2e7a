#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [smoke|long|build] [target…]   (FUZZING.md)
#
# Builds the cargo-fuzz targets in fuzz/ on the STABLE toolchain and runs them with libFuzzer.
#   smoke  each target for FUZZ_SMOKE_SECONDS (default 5) — the step inside scripts/test.sh
#   long   each target for FUZZ_RUNS executions (default 10,000,000), one after the other
#          unless FUZZ_PARALLEL=1, or until FUZZ_MAX_SECONDS if set and reached first;
#          logs in fuzz/artifacts/<target>/long.log
#   build  only build
# No target named: all of them (fuzz/fuzz_targets/*.rs). Exits non-zero on the first crash,
# leak, timeout or out-of-memory; the input that caused it is in fuzz/artifacts/<target>/.
#
# Why not `cargo fuzz run`: cargo-fuzz passes nightly-only `-Z` flags (AddressSanitizer), so on
# stable it needs RUSTC_BOOTSTRAP=1, i.e. unlocking unstable features of a stable compiler.
# Coverage-guided fuzzing itself needs none of them: the SanitizerCoverage instrumentation
# libFuzzer feeds on is reachable through stable `-C` codegen flags, which this script passes.
# What is lost is ASan, which finds memory errors in unsafe code; the fuzzed code is safe Rust
# (the workspace forbids `unsafe`), where those are compile errors. With nightly,
# `cargo fuzz run <target>` runs the very same targets, with ASan.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

mode="${1:-smoke}"
[ $# -gt 0 ] && shift
case "$mode" in smoke | long | build) ;; *)
  echo "usage: $0 [smoke|long|build] [target…]" >&2
  exit 2
  ;;
esac

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for file in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$file" .rs)"); done
fi

# libFuzzer itself is C++, compiled by libfuzzer-sys's build script; the system's OpenSSL is
# linked instead of building the vendored one (see OPENSSL_NO_VENDOR below).
missing=()
command -v c++ >/dev/null 2>&1 || missing+=(g++)
for pkg in libssl-dev pkg-config; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The core's SQLCipher asks for a vendored OpenSSL, i.e. compiling OpenSSL from source: minutes
# of every first fuzz build, for code no target exercises (deep_link only parses links). The
# fuzz binaries link the system's libcrypto instead; the app and its tests keep the vendored one.
export OPENSSL_NO_VENDOR=1

# Own target dir: these flags differ from every other build, sharing would rebuild both ways.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/dataoptix/fuzz-target}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
# The flags cargo-fuzz passes, minus the -Z ones (see above). An explicit --target keeps them
# off build scripts and proc macros, which must not be instrumented.
export RUSTFLAGS="-Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares \
  --cfg fuzzing"
# Debug assertions and overflow checks: on for every crate in fuzz/Cargo.toml's release
# profile (not here, so that curve25519-dalek's arithmetic can opt out; FUZZING.md).
bins=()
for target in "${targets[@]}"; do bins+=(--bin "$target"); done
echo "==> building fuzz targets: ${targets[*]}"
nice -n 19 cargo build --manifest-path fuzz/Cargo.toml --release --locked \
  --target "$triple" "${bins[@]}"
[ "$mode" = build ] && exit 0

# One run of one target; prints "<target> <execs> <exec/s> <seconds> <corpus files>".
run() {
  local target="$1" log="$2"
  shift 2
  local corpus="fuzz/corpus/$target" artifacts="fuzz/artifacts/$target/"
  mkdir -p "$corpus" "$artifacts"
  # Read-only seed dirs after the corpus dir: the small hand-picked ones in fuzz/seeds/, and
  # for the webhook targets the repo's webhook fixtures and Meta's examples (used in place, not
  # copied: they are the parser's tests already).
  local seeds=()
  [ -d "fuzz/seeds/$target" ] && seeds+=("fuzz/seeds/$target")
  case "$target" in webhook_parse | relay_ingest)
    seeds+=(crates/cloud-api/tests/fixtures/webhooks)
    [ -d ../shared/meta/examples ] && seeds+=(../shared/meta/examples)
    ;;
  esac
  # Targets with a store keep it in TMPDIR; libFuzzer exits without destructors, so the
  # directory is removed here.
  local tmp started status=0
  tmp=$(mktemp -d)
  started=$(date +%s)
  TMPDIR="$tmp" nice -n 19 "$CARGO_TARGET_DIR/$triple/release/$target" "$corpus" "${seeds[@]}" \
    -artifact_prefix="$artifacts" -print_final_stats=1 -timeout=30 -rss_limit_mb=2048 \
    "$@" >"$log" 2>&1 || status=$?
  rm -rf "$tmp"
  local execs rate
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  echo "$target ${execs:-?} ${rate:-?} $(($(date +%s) - started)) $(find "$corpus" -type f | wc -l)"
  if [ "$status" -ne 0 ]; then
    echo "error: $target failed (exit $status); the end of its log ($log):" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}

echo "==> fuzzing ($mode) — target, executions, exec/s, seconds, corpus files; 0 crashes unless said"
case "$mode" in
  smoke)
    for target in "${targets[@]}"; do
      run "$target" "fuzz/artifacts/$target/smoke.log" -max_total_time="${FUZZ_SMOKE_SECONDS:-5}"
    done
    ;;
  long)
    limits=(-runs="${FUZZ_RUNS:-10000000}")
    [ -n "${FUZZ_MAX_SECONDS:-}" ] && limits+=(-max_total_time="$FUZZ_MAX_SECONDS")
    pids=()
    for target in "${targets[@]}"; do
      mkdir -p "fuzz/artifacts/$target"
      if [ "${FUZZ_PARALLEL:-0}" = 1 ]; then
        run "$target" "fuzz/artifacts/$target/long.log" "${limits[@]}" &
        pids+=($!)
      else
        run "$target" "fuzz/artifacts/$target/long.log" "${limits[@]}"
      fi
    done
    failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    exit "$failed"
    ;;
esac
