# Sourced by every project script: one cargo target dir outside the clone, so that CI's fresh
# clones reuse the builds of earlier runs on the same machine (README "Two commands").
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dataoptix/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PATH="$HOME/.cargo/bin:$PATH"
# Incremental compilation helps an edit-build loop, not a test run: every fresh CI clone (a new
# path) would add its own incremental cache to the shared target dir, tens of GB over weeks,
# and fill the disk. Scripts run without it unless the caller asks for it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
