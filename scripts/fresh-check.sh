#!/usr/bin/env bash
# Proves the README's quick start on a bare machine: a fresh `debootstrap --variant=minbase
# bookworm` root (no make, no compiler), the source tree copied in, then `./run` (must answer
# through the proxy) and `./test` (every test) run inside it as root. Not part of `make test`:
# it needs root, the Debian mirror, a few GB under the scratch directory, and `./test` there
# compiles everything with ASan and runs the whole suite (half an hour or more).
#
# usage: sudo scripts/fresh-check.sh [--skip-test] [--keep] [--working-tree] [--port N]
#                                     [--dir DIR] [--mirror URL] [--run-timeout S]
#   --skip-test     stop after ./run answered (no ./test)
#   --keep          keep the root afterwards (DIR/root) to look around; unmounted either way
#   --working-tree  copy the working tree (without build dirs and .git) instead of HEAD
#   --port N        the port ./run listens on (default: a free one from 19001)
#   --dir DIR       scratch directory (default: a new /var/tmp/ferry-fresh.XXXXXX); the logs
#                   stay in DIR/logs
#   --mirror URL    Debian mirror (default: the one apt uses here, /etc/apt/sources.list or
#                   /etc/apt/sources.list.d/*.sources)
#   --run-timeout S seconds ./run may take to install, build and listen (default 5400)
# Prints the time of each step and a summary; always stops what it started and unmounts.
set -euo pipefail

src=$(cd "$(dirname -- "$0")/.." && pwd)
skip_test=0 keep=0 working_tree=0 port="" dir="" mirror="" run_timeout=5400

die() { echo "fresh-check: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
  --skip-test) skip_test=1 ;;
  --keep) keep=1 ;;
  --working-tree) working_tree=1 ;;
  --port) port=${2:?--port needs a number}; shift ;;
  --dir) dir=${2:?--dir needs a directory}; shift ;;
  --mirror) mirror=${2:?--mirror needs a URL}; shift ;;
  --run-timeout) run_timeout=${2:?--run-timeout needs seconds}; shift ;;
  -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, mount, chroot): run it with sudo"
[[ -z $port || $port =~ ^[0-9]+$ ]] || die "--port must be a number, not '$port'"
[[ $run_timeout =~ ^[0-9]+$ ]] || die "--run-timeout must be a number of seconds, not '$run_timeout'"

# The mirror apt uses on this machine: the first non-security URI of a one-line
# sources.list or of a deb822 .sources file.
host_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk 'tolower($1) == "uris:" && $0 !~ /security/ { print $2; exit }' "$f"
  done
}
[[ -n $mirror ]] || mirror=$(host_mirror | head -n 1)
[[ -n $mirror ]] || die "no Debian mirror in /etc/apt/sources.list{,.d}: give one with --mirror URL"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}
[[ -n $port ]] || port=$(free_port 19001)
port_free "$port" || die "port $port is taken on 127.0.0.1 (the chroot shares this machine's network)"

if [[ -z $dir ]]; then
  dir=$(mktemp -d /var/tmp/ferry-fresh.XXXXXX)
else
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
fi
root=$dir/root logs=$dir/logs
[[ ! -e $root ]] || die "$root exists already: give a new --dir"
mkdir -p "$logs"

# --- timings -------------------------------------------------------------------------------
summary=()
step_start=0
step() {
  step_name=$1
  step_start=$(date +%s)
  echo "== $(date -u +%H:%M:%S) $step_name"
}
step_done() {
  local s=$(($(date +%s) - step_start))
  local line
  line=$(printf '%-44s %4dm%02ds  %s' "$step_name" $((s / 60)) $((s % 60)) "${1:-ok}")
  summary+=("$line")
  echo "== $(date -u +%H:%M:%S) $line"
}

# --- cleanup, always -----------------------------------------------------------------------
run_pid="" origin_pid="" test_pid=""
stop_group() { # pid of a setsid'd process group: TERM, up to 20 s, then KILL
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  for ((i = 0; i < 40; i++)); do
    kill -0 -- "-$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
}
mounted_under_root() { awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -z $origin_pid ]] || stop_group "$origin_pid"
  [[ -z $run_pid ]] || stop_group "$run_pid"
  [[ -z $test_pid ]] || { echo "fresh-check: stopping ./test (log: $logs/test.log)" >&2; stop_group "$test_pid"; }
  # Deepest first; a lazy unmount as the last resort so nothing stays behind.
  local m
  for m in $(mounted_under_root | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" || echo "fresh-check: cannot unmount $m" >&2
  done
  if [[ -n $(mounted_under_root) ]]; then
    echo "fresh-check: still mounted under $root, not removing it:" >&2
    mounted_under_root >&2
  elif [[ $keep -eq 0 && -d $root ]]; then
    rm -rf --one-file-system "$root"
  fi
  if [[ ${#summary[@]} -gt 0 ]]; then
    echo
    echo "fresh-check summary (mirror $mirror, root $root$([[ $keep -eq 1 ]] || echo ", removed")):"
    printf '  %s\n' "${summary[@]}"
  fi
  echo "logs: $logs"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_root() { # a clean environment, as a fresh login would have it
  chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# --- 1. debootstrap ------------------------------------------------------------------------
if ! command -v debootstrap >/dev/null; then
  step "apt-get install debootstrap (host)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >"$logs/debootstrap-install.log" 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } \
      >>"$logs/debootstrap-install.log" 2>&1
  step_done
fi

step "debootstrap --variant=minbase bookworm"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$logs/debootstrap.log" 2>&1 ||
  { tail -n 20 "$logs/debootstrap.log" >&2; die "debootstrap failed (log: $logs/debootstrap.log)"; }
step_done "$(du -sh --one-file-system "$root" | cut -f1)"

for tool in make cc c++ cmake curl python3; do
  if in_root sh -c "command -v $tool" >/dev/null; then die "the fresh root already has $tool: not a bare machine"; fi
done
# Package scripts must not start services inside the chroot (squid, tinyproxy).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

# --- 2. mounts -----------------------------------------------------------------------------
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --make-rslave "$root/dev" # nothing mounted below it reaches the host's /dev
mount --bind /dev/pts "$root/dev/pts"
# Its own tmpfs: binding /dev alone leaves /dev/shm a plain directory (shm_open tests fail).
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"

# --- 3. the source tree --------------------------------------------------------------------
mkdir -p "$root/src/ferry"
if [[ $working_tree -eq 0 ]] && git -C "$src" rev-parse --verify -q HEAD >/dev/null; then
  copied="git archive of HEAD $(git -C "$src" rev-parse --short HEAD)"
  git -C "$src" archive --format=tar HEAD | tar -x -C "$root/src/ferry"
else
  copied="working tree of $src"
  tar -C "$src" --exclude=./.git --exclude='./build' --exclude='./build-*' --exclude=./bench/out \
    -cf - . | tar -x -C "$root/src/ferry"
fi
echo "source: $copied"

# --- 4. ./run: installs, builds, listens; answers through the proxy ------------------------
step "./run $port (install + release build + start)"
setsid chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  sh -c "cd / && exec /src/ferry/run $port" </dev/null >"$logs/run.log" 2>&1 &
run_pid=$!
deadline=$(($(date +%s) + run_timeout))
until ! port_free "$port"; do
  if ! kill -0 "$run_pid" 2>/dev/null; then
    wait "$run_pid" && rc=0 || rc=$?
    run_pid=""
    tail -n 30 "$logs/run.log" >&2
    step_done "FAILED: exited $rc before listening"
    exit 1
  fi
  if [[ $(date +%s) -ge $deadline ]]; then
    tail -n 30 "$logs/run.log" >&2
    step_done "FAILED: not listening after ${run_timeout}s"
    exit 1
  fi
  sleep 2
done
step_done "listening on 127.0.0.1:$port"

step "curl -x through ./run's ferry"
origin_port=$(free_port $((port + 100)))
mkdir -p "$root/srv/origin"
token="ferry fresh-check $(date +%s) $$"
echo "$token" >"$root/srv/origin/hello.txt"
setsid chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
  python3 -m http.server --bind 127.0.0.1 --directory /srv/origin "$origin_port" \
  </dev/null >"$logs/origin.log" 2>&1 &
origin_pid=$!
for ((i = 0; i < 50; i++)); do port_free "$origin_port" || break; sleep 0.2; done
answer=$(in_root curl -sS --max-time 10 -D /dev/stderr -x "http://127.0.0.1:$port" \
  "http://127.0.0.1:$origin_port/hello.txt" 2>"$logs/curl-headers.log") || true
cat "$logs/curl-headers.log"
if [[ $answer != "$token" ]]; then
  step_done "FAILED: got '$answer' instead of the origin's file"
  exit 1
fi
grep -qi '^via:.*ferry' "$logs/curl-headers.log" ||
  { step_done "FAILED: the answer has no 'Via: ... ferry'"; exit 1; }
step_done "200 with the origin's body, Via: ferry"

step "stop ./run (SIGTERM)"
stop_group "$origin_pid"
origin_pid=""
stop_group "$run_pid"
wait "$run_pid" 2>/dev/null || true
run_pid=""
port_free "$port" || { step_done "FAILED: still listening"; exit 1; }
step_done

# --- 5. ./test: ASan + UBSan build, every test ---------------------------------------------
if [[ $skip_test -eq 1 ]]; then
  echo "./test skipped (--skip-test)"
  exit 0
fi
step "./test (ASan build + every test)"
echo "   log: $logs/test.log (tail -f it to follow)"
# In its own process group, waited for here, so that a signal to this script stops it too.
setsid chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  sh -c "cd / && exec /src/ferry/test" </dev/null >"$logs/test.log" 2>&1 &
test_pid=$!
wait "$test_pid" && rc=0 || rc=$?
test_pid=""
if [[ $rc -eq 0 ]]; then
  step_done "$(grep -E 'tests passed' "$logs/test.log" | tail -n 1)"
else
  tail -n 40 "$logs/test.log" >&2
  step_done "FAILED (exit $rc): $(grep -E 'tests passed' "$logs/test.log" | tail -n 1)"
  exit 1
fi
