# Sourced by every project script: one cargo target dir outside the clone, so that CI's fresh
# clones reuse the builds of earlier runs on the same machine (README "Two commands").
export CARGO_TARGET_DIR="$HOME/.cache/dataoptix/target-templates"  # lead: per-worktree target (shared one mixed worktrees' crates); do not commit this line
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PATH="$HOME/.cargo/bin:$PATH"
