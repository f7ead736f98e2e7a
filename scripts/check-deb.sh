#!/usr/bin/env bash
# Checks a DataOptix .deb (scripts/package.sh runs it on the bundle it made):
#
#   scripts/check-deb.sh PATH.deb              # exit 1, naming each problem, if one is found
#   scripts/check-deb.sh --self-test PATH.deb  # also proves the checks catch broken packages
#
# What it checks: the control file (package, architecture, dependencies on WebKitGTK 4.1 and
# GTK 3), the files (the binary, the icons the desktop entry names) and the desktop entry itself
# (`Exec=dataoptix %u`, without which a cold start by a dataoptix:// link loses the URL; the
# scheme handler MIME type; no template placeholder left). The self-test repacks the package
# with one defect at a time and expects each to be reported.
set -euo pipefail

self_test=false
if [ "${1:-}" = --self-test ]; then self_test=true; shift; fi
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 [--self-test] PATH.deb" >&2
  exit 2
fi
deb=$(realpath "$1")

# Prints one line per problem found in the package at $1; prints nothing when it is sound.
problems() {
  local pkg=$1 work control contents desktop
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" RETURN
  if ! control=$(dpkg-deb --field "$pkg" 2>&1); then
    echo "not a Debian package: $control"
    return
  fi
  grep -qx 'Architecture: amd64' <<<"$control" || echo "control: Architecture is not amd64"
  local depends
  depends=$(dpkg-deb --field "$pkg" Depends)
  # WebKitGTK and GTK are linked; the tray icon's library is loaded at run time, and the app
  # cannot start without it, so the package must name it too (tauri.conf.json adds it).
  for dep in libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1; do
    grep -qE "(^|, )$dep( |,|$)" <<<"$depends" || echo "control: Depends lacks $dep (has: $depends)"
  done

  # Paths as dpkg lists them, without the leading "./" some tools write.
  contents=$(dpkg-deb --contents "$pkg" | awk '{print $NF}' | sed 's#^\./##')
  grep -qx 'usr/bin/dataoptix' <<<"$contents" || echo "files: usr/bin/dataoptix is missing"
  for size in 32x32 128x128 256x256@2; do
    grep -qx "usr/share/icons/hicolor/$size/apps/dataoptix.png" <<<"$contents" \
      || echo "files: the $size icon is missing"
  done
  desktop=$(grep -E '^usr/share/applications/[^/]+\.desktop$' <<<"$contents" || true)
  if [ "$(grep -c . <<<"$desktop")" -ne 1 ]; then
    echo "files: expected one desktop entry in usr/share/applications, found: ${desktop:-none}"
    return
  fi

  dpkg-deb --extract "$pkg" "$work"
  local entry="$work/$desktop"
  grep -qx 'Exec=dataoptix %u' "$entry" \
    || echo "desktop entry: Exec is not 'dataoptix %u' ($(grep '^Exec=' "$entry" || echo none))"
  grep -qx 'MimeType=x-scheme-handler/dataoptix;' "$entry" \
    || echo "desktop entry: MimeType lacks x-scheme-handler/dataoptix;"
  grep -qx 'Icon=dataoptix' "$entry" || echo "desktop entry: Icon is not dataoptix"
  grep -qx 'Type=Application' "$entry" || echo "desktop entry: Type is not Application"
  if grep -q '{{' "$entry"; then echo "desktop entry: a template placeholder is left: $(grep '{{' "$entry")"; fi
  local bin="$work/usr/bin/dataoptix"
  if [ -f "$bin" ]; then
    [ -x "$bin" ] || echo "files: usr/bin/dataoptix is not executable"
    [ "$(head -c 4 "$bin" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] \
      || echo "files: usr/bin/dataoptix is not an ELF binary"
  fi
}

found=$(problems "$deb")
if [ -n "$found" ]; then
  echo "$deb has problems:" >&2
  echo "$found" | sed 's/^/  - /' >&2
  exit 1
fi
echo "deb check passed: $deb ($(dpkg-deb --field "$deb" Package) $(dpkg-deb --field "$deb" Version), $(du -h "$deb" | cut -f1))"

# Repacks the package extracted in $2 with defect $1.
break_package() {
  local dir=$2 entry
  entry=$(find "$dir/usr/share/applications" -name '*.desktop' -print -quit)
  case $1 in
    exec) sed -i 's/^Exec=dataoptix %u$/Exec=dataoptix/' "$entry" ;;
    mime) sed -i '/^MimeType=/d' "$entry" ;;
    depends) sed -i 's/libwebkit2gtk-4\.1-0/libwebkit2gtk-4.0-37/' "$dir/DEBIAN/control" ;;
    binary) rm "$dir/usr/bin/dataoptix" ;;
  esac
}

if [ "$self_test" = true ]; then
  # Each defect, repacked into a copy of the package, must be reported by name.
  declare -A expected=(
    [exec]="Exec is not 'dataoptix %u'"
    [mime]="MimeType lacks x-scheme-handler/dataoptix;"
    [depends]="Depends lacks libwebkit2gtk-4.1-0"
    [binary]="usr/bin/dataoptix is missing"
  )
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  for defect in exec mime depends binary; do
    rm -rf "$root/pkg" "$root/broken.deb"
    dpkg-deb --raw-extract "$deb" "$root/pkg"
    break_package "$defect" "$root/pkg"
    dpkg-deb -Znone --build "$root/pkg" "$root/broken.deb" >/dev/null
    report=$(problems "$root/broken.deb")
    if ! grep -qF "${expected[$defect]}" <<<"$report"; then
      echo "self-test: a package with defect '$defect' was not reported as '${expected[$defect]}' (got: ${report:-nothing})" >&2
      exit 1
    fi
    echo "self-test: caught $defect: ${expected[$defect]}"
  done
fi
