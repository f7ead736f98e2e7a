#!/usr/bin/env bash
# Keeps the shared cargo target dir (scripts/env.sh) from growing without bound: every change
# to a crate builds its test binaries under a new hash and cargo never removes the old ones
# (on this project's CI machine, 29 GB of superseded test binaries in two days filled the
# disk). Removes, in debug/deps and release/deps, every executable `name-<16 hex>` that is
# not the newest of its name and is older than a day; libraries and the newest binaries stay,
# so nothing is rebuilt that a current build would reuse.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cutoff=$(( $(date +%s) - 86400 ))
freed=0
for deps in "$CARGO_TARGET_DIR"/{debug,release}/deps; do
  [ -d "$deps" ] || continue
  while read -r file; do
    size=$(stat -c %s "$deps/$file")
    rm -f "$deps/$file" "$deps/$file.d"
    freed=$(( freed + size ))
  done < <(
    find "$deps" -maxdepth 1 -type f -executable -regextype posix-extended \
      -regex '.*/[A-Za-z0-9_]+-[0-9a-f]{16}' -printf '%T@ %f\n' \
      | awk '{ name = $2; sub(/-[0-9a-f]+$/, "", name); print name, int($1), $2 }' \
      | sort -k1,1 -k2,2nr \
      | awk -v cutoff="$cutoff" '$1 == prev && $2 < cutoff { print $3 } { prev = $1 }'
  )
done
echo "pruned superseded test binaries: $(( freed / 1024 / 1024 )) MB freed"
