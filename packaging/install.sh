#!/bin/sh
# bakelite installer: downloads the executable for this OS and CPU, checks it
# against the release's SHA256SUMS, and installs it. On Linux it also
# installs the systemd units (disabled) and a placeholder config; on a
# terminal it offers to run `bakelite init`. Safe to run again: files that
# are already current are left alone, and nothing is enabled or started.
#
#   curl -fsSL <release-url>/install.sh | sh
#
# Environment (all optional):
#   BAKELITE_RELEASE_URL  where the release files are (default: the latest GitHub release)
#   BAKELITE_BIN_DIR      executable directory (default /usr/local/bin as root, else ~/.local/bin)
#   BAKELITE_ETC_DIR      config and env file directory (default /etc/bakelite)
#   BAKELITE_SYSTEMD_DIR  unit directory (default /etc/systemd/system)
#   BAKELITE_SHARE_DIR    cron file and launchd agent (default /usr/local/share/bakelite, or ~/.local/share/bakelite)
#   BAKELITE_NO_INIT=1    never offer to run `bakelite init`
set -eu

RELEASE_URL=${BAKELITE_RELEASE_URL:-https://github.com/duggan/bakelite/releases/latest/download}
RELEASE_URL=${RELEASE_URL%/}

say() { printf 'bakelite-install: %s\n' "$*"; }
die() { printf 'bakelite-install: error: %s\n' "$*" >&2; exit 1; }

detect_target() {
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "unsupported operating system $(uname -s); builds exist for Linux and macOS" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "unsupported CPU $(uname -m); builds exist for x86_64 and arm64" ;;
  esac
  echo "$os-$arch"
}

download() { # url file
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$2" "$1" || die "download failed: $1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || die "download failed: $1"
  else
    die "need curl or wget to download"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
  else die "need sha256sum or shasum to verify the download"
  fi
}

# fetch NAME: downloads NAME into $tmp and verifies it against SHA256SUMS.
fetch() {
  expected=$(awk -v n="$1" '$2 == n || $2 == "*" n { print $1; exit }' "$tmp/SHA256SUMS")
  [ -n "$expected" ] || die "$1 is not listed in $RELEASE_URL/SHA256SUMS"
  download "$RELEASE_URL/$1" "$tmp/$1"
  actual=$(sha256_of "$tmp/$1")
  [ "$actual" = "$expected" ] || die "checksum mismatch for $1 (expected $expected, got $actual); nothing was installed"
}

# sed_repl TEXT: TEXT made safe as the replacement of a sed s|…|…| command.
sed_repl() { printf '%s\n' "$1" | sed 's/[|&\\]/\\&/g'; }

# place SRC DEST MODE: installs SRC as DEST atomically unless DEST already has the same bytes.
place() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    say "unchanged $2"
    return
  fi
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  say "installed $2"
}

target=$(detect_target)
binary="bakelite-$target"
if [ "$(id -u)" -eq 0 ]; then root=1; else root=0; fi
if [ $root -eq 1 ]; then
  bin_dir=${BAKELITE_BIN_DIR:-/usr/local/bin}
  share_dir=${BAKELITE_SHARE_DIR:-/usr/local/share/bakelite}
else
  bin_dir=${BAKELITE_BIN_DIR:-$HOME/.local/bin}
  share_dir=${BAKELITE_SHARE_DIR:-$HOME/.local/share/bakelite}
fi
etc_dir=${BAKELITE_ETC_DIR:-/etc/bakelite}
etc_dir=${etc_dir%/}
systemd_dir=${BAKELITE_SYSTEMD_DIR:-/etc/systemd/system}
# Both are written into the units, the cron file and the launchd agent.
for dir in "$bin_dir" "$etc_dir"; do
  case $dir in
    /*) ;;
    *) die "$dir is not an absolute path; the units and the cron file need one" ;;
  esac
done
if [ $root -eq 1 ] || [ -n "${BAKELITE_SYSTEMD_DIR:-}" ]; then units_wanted=1; else units_wanted=0; fi
if [ $units_wanted -eq 1 ] && [ "$target" = "${target#darwin}" ]; then
  case "$bin_dir$etc_dir" in
    *[[:space:]%]*) die "the systemd units cannot name $bin_dir or $etc_dir: choose directories without blanks or %" ;;
  esac
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bakelite-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

say "installing $binary from $RELEASE_URL"
download "$RELEASE_URL/SHA256SUMS" "$tmp/SHA256SUMS"
fetch "$binary"
chmod 0755 "$tmp/$binary"
"$tmp/$binary" --version >/dev/null 2>&1 || die "the downloaded $binary does not run on this machine"

# Everything is downloaded and verified before anything is installed.
# Not bakelite-repair.service/.timer: this build has no `bakelite repair`,
# so the timer would fail every week. They join this list when it is built.
units="bakelite.service bakelite-check.service bakelite-check.timer bakelite-verify.service bakelite-verify.timer bakelite-verify-deep.service bakelite-verify-deep.timer"
if [ "$target" = "${target#darwin}" ]; then
  for unit in $units; do fetch "$unit"; done
  fetch bakelite.cron
else
  fetch org.bakelite.daemon.plist
fi

place "$tmp/$binary" "$bin_dir/bakelite" 0755
bakelite="$bin_dir/bakelite"
# The shipped files name /usr/local/bin/bakelite and /etc/bakelite/ (the
# config and env file): point them at where those actually are.
for file in $units bakelite.cron org.bakelite.daemon.plist; do
  if [ -f "$tmp/$file" ]; then
    sed -e "s|/usr/local/bin/bakelite|$(sed_repl "$bin_dir/bakelite")|g" -e "s|/etc/bakelite/|$(sed_repl "$etc_dir/")|g" "$tmp/$file" >"$tmp/$file.local"
    mv "$tmp/$file.local" "$tmp/$file"
  fi
done
# The cron jobs find bakelite through the file's PATH: make sure it names $bin_dir.
if [ -f "$tmp/bakelite.cron" ]; then
  case ":$(sed -n 's/^PATH=//p' "$tmp/bakelite.cron"):" in
    *":$bin_dir:"*) ;;
    *)
      sed "s|^PATH=|PATH=$(sed_repl "$bin_dir"):|" "$tmp/bakelite.cron" >"$tmp/bakelite.cron.local"
      mv "$tmp/bakelite.cron.local" "$tmp/bakelite.cron"
      ;;
  esac
fi

if [ "$target" = "${target#darwin}" ]; then
  place "$tmp/bakelite.cron" "$share_dir/bakelite.cron" 0644
  if [ $units_wanted -eq 1 ]; then
    for unit in $units; do place "$tmp/$unit" "$systemd_dir/$unit" 0644; done
    if [ -d /run/systemd/system ] && [ "$systemd_dir" = /etc/systemd/system ]; then systemctl daemon-reload || true; fi
    if [ -f "$systemd_dir/bakelite-repair.timer" ]; then
      say "note: $systemd_dir/bakelite-repair.timer (from an earlier install) runs 'bakelite repair', which this build does not have; keep it disabled: systemctl disable --now bakelite-repair.timer"
    fi
  else
    say "not root: systemd units not installed; run as root, or add the jobs in $share_dir/bakelite.cron to your crontab (crontab -e: drop the user column, and change --config if your config is not $etc_dir/bakelite.toml)"
  fi
  if [ $root -eq 1 ] || [ -n "${BAKELITE_ETC_DIR:-}" ]; then
    if [ -e "$etc_dir/bakelite.toml" ]; then
      say "kept $etc_dir/bakelite.toml"
    else
      mkdir -p "$etc_dir"
      cat >"$tmp/bakelite.toml" <<'EOF'
# bakelite placeholder config, installed by install.sh.
# It defines no database yet, so the daemon refuses to start with it.
# Write a real one with:  sudo bakelite init
# (or: sudo bakelite init --yes --force --db-path /var/lib/app/app.db --backup-dir /var/backups/bakelite)
EOF
      place "$tmp/bakelite.toml" "$etc_dir/bakelite.toml" 0644
    fi
  fi
else
  place "$tmp/org.bakelite.daemon.plist" "$share_dir/org.bakelite.daemon.plist" 0644
fi

say "done: $("$bakelite" --version)"
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) say "note: $bin_dir is not on your PATH" ;;
esac
say "units are installed disabled; see docs/operations.md to enable them"

# Offer the wizard only to a person at a terminal (curl | sh has no stdin, so ask /dev/tty).
if [ -z "${BAKELITE_NO_INIT:-}" ] && [ -t 1 ] && (: </dev/tty) 2>/dev/null; then
  printf '%s' "bakelite-install: run 'bakelite init' now to set up a backup? [y/N] " >/dev/tty
  read -r answer </dev/tty || answer=
  case "$answer" in
    y | Y | yes | YES)
      # exec replaces this shell, so its EXIT trap would never remove the downloads.
      rm -rf "$tmp"
      trap - EXIT INT TERM
      exec "$bakelite" init </dev/tty
      ;;
    *) say "later: sudo $bakelite init" ;;
  esac
fi
