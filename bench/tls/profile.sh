#!/usr/bin/env bash
# Where ferry's CPU goes behind a TLS listener (issue 14): perf record of ferry under the keep-alive
# TLS load of `make bench` (wrk -t1 -c50 over TLS, absolute-form 1 KiB GETs inside), then the share
# of cycles per shared object (libcrypto, libssl, the kernel, ferry, libc) and the top symbols.
#
# usage: bench/tls/profile.sh [SECONDS (10)]     FERRY_BIN (build/ferry) as for bench/run.sh
# Output: bench/out/tls-profile.txt; BENCH_KEEP_PERF=1 also keeps perf.data as bench/out/tls-perf.data.
# Needs perf (linux-perf) and the tools of `make bench`; starts an nginx origin and one ferry on
# free ports of 127.0.0.1 and stops them by pid on exit.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$(dirname "$here")
secs=${1:-10}
ferry_bin=${FERRY_BIN:-$root/build/ferry}
[[ $secs =~ ^[1-9][0-9]*$ ]] && (( secs <= 60 )) || { echo "profile: SECONDS is 1-60 (got '$secs')" >&2; exit 1; }
for t in perf wrk nginx curl openssl python3; do
  command -v "$t" >/dev/null || { echo "profile: $t is missing (make bench installs the rest; perf: linux-perf)" >&2; exit 1; }
done
[[ -x $ferry_bin ]] || { echo "profile: no ferry binary at $ferry_bin" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ferry-tls-profile.XXXXXX) || exit 1
chmod 711 "$tmp"
log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }
note() { log "note: $*"; }
for_generator() { "$@"; }   # 50 connections: no limit to raise
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
trap 'stop_all; [[ -n ${BENCH_KEEP_PERF:-} ]] && cp "$tmp/perf.data" "$here/out/tls-perf.data" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/www" "$here/out"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"
read -r p_origin p_ferry <<<"$(free_ports 2)"
port[origin]=$p_origin
port[ferry-tls]=$p_ferry
start_nginx origin origin-nginx.conf.in
wait_ready origin || { echo "profile: the origin did not start" >&2; exit 1; }
# tls_make_certs from the phase script: the same CA and certificate as `make bench`.
tls_dir=$tmp/tls
# shellcheck source=bench/tls/phase.sh
source "$here/tls/phase.sh"
tls_make_certs || { echo "profile: openssl could not make the certificates" >&2; exit 1; }
ferry_flags=(--access-log off --connect-ports any)
tls_start ferry
wait_ready ferry-tls || { echo "profile: ferry did not start: $(tail -n 3 "$tmp/ferry-tls.out")" >&2; exit 1; }

out=$here/out/tls-profile.txt
log "warm-up, then perf record -g of ferry (pid ${pid[ferry-tls]}) for ${secs}s under wrk -c50 over TLS"
tls_wrk ferry-tls 50 1 "$tmp/warmup.txt"
tls_wrk ferry-tls 50 $((secs + 2)) "$tmp/wrk.txt" &
wrk_pid=$!
sleep 1
perf record -q -g -o "$tmp/perf.data" -p "${pid[ferry-tls]}" -- sleep "$secs" 2>"$tmp/perf.err"
wait "$wrk_pid"
{
  echo "# ferry under keep-alive TLS load: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
  echo "# $(grep -E '^Requests/sec' "$tmp/wrk.txt") (wrk -t1 -c50 over TLS, 1 KiB, while perf recorded)"
  echo "# load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "## Cycles per shared object"
  perf report -i "$tmp/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 15
  echo
  echo "## Top symbols"
  perf report -i "$tmp/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' |
    grep -v '^$' | head -n 40
} >"$out"
cat "$out"
