#!/usr/bin/env bash
# ferry benchmark: ferry against the peers of /work/shared/ANCHORS.md — HAProxy 2.6 as a dynamic
# forward proxy, nginx as a keep-alive relay, Squid 5.7 without a cache, Privoxy 3.0.34 with
# toggle 0 and connection sharing, tinyproxy 1.11 — and a direct reference, on this machine, in one run.
#
# Everything listens on 127.0.0.1 on free ports, with its own config, pid and log files in a temp
# dir; everything started here is stopped by pid on exit. Scenarios, in interleaved rounds with the
# proxy order rotated each round (absolute numbers drift on a shared 2-core machine; ratios count):
#   1. wrk -t1 -c50, 1 KiB, absolute-form: req/s and the proxy's CPU µs per request
#      (ferry is also measured with its access log going to a file, to show the log's cost)
#   2. wrk -t1 -c1 --latency: p50 latency (µs)
#   3. curl through the proxy, one big file from the page cache: MB/s (10^6 bytes/s)
#   4. the same through a CONNECT tunnel (curl -p), for proxies that support CONNECT
# The slow peers (Squid, Privoxy, tinyproxy) get BENCH_SLOW_SECONDS per wrk run (default: the
# same; a full default run takes about 7-8 minutes, so it fits in 10). Once per run, after the rounds:
#   5. idle: 8,000 keep-alive client connections, one 1 KiB GET each, all kept open
#      (bench/idle_conns.py): the proxy's RSS growth per connection, in bytes
#   6. c8000: wrk -t2 -c8000: errors (socket errors + non-2xx responses), and req/s
# Then the TLS rows (issue 14; bench/tls/phase.sh, BENCH_TLS=0 skips them): ferry, HAProxy,
# Squid and Apache httpd behind TLS listeners, in rounds of their own: keep-alive req/s and CPU
# per request over TLS, new TLS handshakes per second (full and resumed), the big download
# through the TLS listener, and once per run RSS per idle TLS client; about 6 more minutes.
# Then the HTTP/2 rows (issue 15; bench/h2/phase.sh, BENCH_H2=0 skips them, BENCH_H2=only runs
# them alone): ferry, HAProxy, Apache httpd and nghttpx with h2 front ends on TLS listeners, in
# rounds of their own: 1 KiB GETs on 10 connections x 100 streams (req/s, CPU per request),
# 10 CONNECT streams of the big file (ferry and Apache; and ferry's HTTP/1.1 CONNECT), Chromium's
# page load through ferry over HTTP/2 against HTTP/1.1, and once per run RSS per idle HTTP/2
# connection (ferry and HAProxy, fresh processes); about 7-8 more minutes.
# Then the status-page rows (issue 16; bench/status/phase.sh, BENCH_STATUS=0 skips them,
# BENCH_STATUS=only runs them alone): one ferry with --admin-listen, wrk -c50 through it with
# nobody watching, with headless Chromium holding the status page open, and with the status
# and flow pages open (SSE live), rotated, BENCH_STATUS_ROUNDS (5) rounds; req/s, ferry's CPU
# per request, watched ÷ unwatched; about 4 more minutes.
# BENCH_LISTS=on|only (issue 18): first the access-list benchmark (bench/acl_lists, built with
# ferry as build/bench/acl_lists/ferry_acl_lists_bench, or FERRY_LISTS_BIN): 1,000,000 domains
# and 100,000 CIDRs loaded, ns per match, memory; printed and kept in bench/out/acl_lists.txt.
# "only": that alone. Off by default.
# Then the SOCKS5 rows (issue 17; bench/socks/phase.sh, BENCH_SOCKS=0 skips them, BENCH_SOCKS=only
# runs them alone): ferry's socks5:// listener, dante-server and microsocks, in rounds of their
# own: new SOCKS5 connections per second (bench/socks/socks_load.c: handshake, CONNECT to an echo
# origin, 64 bytes there and back, close; 50 in flight) and CPU per connection, the big file
# through one SOCKS5 tunnel (MB/s, CPU s per GiB), and RSS per idle tunnel (2,000 on fresh
# processes); about 3 more minutes.
# The table (medians over rounds, and ferry's ratios as medians of per-round ratios) is printed
# and written to bench/out/latest.md; raw values go to bench/out/latest.tsv.
#
# A second ferry (issue 12: a refactor must stay within ±3 % of the code before it):
#   FERRY_BASELINE=<git rev>  builds that revision once with bench/baseline.sh (a detached worktree
#                             in build-baseline/<commit>/, Release, Ninja; reused when built) and
#   FERRY_OLD_BIN=<path>      or takes a ferry binary as it is (FERRY_OLD_REV=<text> labels it;
#                             by default the rev in a name like ferry-cdb39aa, else the file name)
# add it as "ferry-old (<rev>)": one more participant in the same rounds, started with exactly
# ferry's flags, in every scenario, next to ferry in each round's order (which of the two goes
# first alternates by round), so that each round gives a new ÷ old ratio from runs seconds apart.
# Idle RSS per connection is then also measured in every round, for the two ferries only, each
# on a fresh process (same flags, warmed up by wrk -c50 for 1 s, stopped after; RSS read once it
# has held still for 1 s): on a process that has already held 8,000 connections the heap keeps
# that memory and a second measurement reads ~0 B, so only fresh processes give one sample per
# round and a median. The report adds a
# "new ÷ old" table: per metric the median of the per-round ratios, their range and quartiles,
# a distribution-free confidence interval of that median, and whether it says "within ±3 %".
#
# BENCH_MODE=compare (`make bench-compare`): ferry against ferry-old alone, to judge ±3 %
# in limited time: BENCH_PEERS defaults to ferry-old, BENCH_ROUNDS to 20, BENCH_SECONDS to 3,
# BENCH_DEADLINE to 900, BENCH_STOP to 1000 and BENCH_TLS to 0 (about 10-12 minutes at 20
# rounds); each still overridable. Needs FERRY_BASELINE or FERRY_OLD_BIN.
# BENCH_PEERS="<names>": the participants besides ferry, any of ferry-old ferry-log haproxy nginx
# squid privoxy tinyproxy direct (default: all of them; ferry-old when a second ferry is given).
#
# Knobs (environment): BENCH_SECONDS (5) per wrk run, BENCH_SLOW_SECONDS (BENCH_SECONDS) per wrk
# run of the slow peers, BENCH_ROUNDS (3, at most 100), BENCH_BIG_MB (1024), BENCH_DEADLINE (480:
# no round starts unless it is expected to end by then; the once-per-run scenarios follow),
# BENCH_CONNS (8000) for scenarios 5 and 6, BENCH_STOP (580: a once-per-run step past this many
# seconds is skipped, with a note), FERRY_BIN (build/ferry), and the above. The clock starts
# after a FERRY_BASELINE build.
# Examples:
#   make bench-compare FERRY_BASELINE=main            # or: BENCH_MODE=compare FERRY_BASELINE=main bench/run.sh
#   make bench FERRY_OLD_BIN=/work/ferry-old/ferry-cdb39aa
#   BENCH_MODE=compare FERRY_OLD_BIN=... BENCH_PEERS="ferry-old haproxy nginx" bench/run.sh
# Tools come from `scripts/install-deps.sh --bench` (run by `make bench`); this script installs nothing.
set -uo pipefail   # no -e: a failed measurement is a cell in the table, not the end of the run

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
mode=${BENCH_MODE:-full}
case $mode in
  full) d_peers="ferry-log haproxy nginx squid privoxy tinyproxy direct" d_rounds=3 d_secs=5 d_deadline=480 d_stop=580 d_tls=1 d_h2=1 d_status=1 d_socks=1 ;;
  compare) d_peers=ferry-old d_rounds=20 d_secs=3 d_deadline=900 d_stop=1000 d_tls=0 d_h2=0 d_status=0 d_socks=0 ;;
  *) echo "bench: BENCH_MODE is full or compare (got '$mode')" >&2; exit 1 ;;
esac
secs=${BENCH_SECONDS:-$d_secs}
slow_secs=${BENCH_SLOW_SECONDS:-$secs}
many=${BENCH_CONNS:-8000}
hard_stop=${BENCH_STOP:-$d_stop}
rounds=${BENCH_ROUNDS:-$d_rounds}
big_mb=${BENCH_BIG_MB:-1024}
deadline=${BENCH_DEADLINE:-$d_deadline}
tls=${BENCH_TLS:-$d_tls}
[[ $tls == [01] ]] || { echo "bench: BENCH_TLS is 0 or 1 (got '$tls')" >&2; exit 1; }
h2=${BENCH_H2:-$d_h2}
[[ $h2 == [01] || $h2 == only ]] || { echo "bench: BENCH_H2 is 0, 1 or only (got '$h2')" >&2; exit 1; }
status_bench=${BENCH_STATUS:-$d_status}
[[ $status_bench == [01] || $status_bench == only ]] || { echo "bench: BENCH_STATUS is 0, 1 or only (got '$status_bench')" >&2; exit 1; }
socks_bench=${BENCH_SOCKS:-$d_socks}
[[ $socks_bench == [01] || $socks_bench == only ]] || { echo "bench: BENCH_SOCKS is 0, 1 or only (got '$socks_bench')" >&2; exit 1; }
plain=1
if [[ $h2 == only || $status_bench == only || $socks_bench == only ]]; then
  # the rows that say "only" alone (one or more of HTTP/2, status page, SOCKS5): no plain or
  # TLS rows, no plain peers
  plain=0 tls=0 d_peers=""
  [[ $h2 == only ]] || h2=0
  [[ $status_bench == only ]] || status_bench=0
  [[ $socks_bench == only ]] || socks_bench=0
fi
ferry_bin=${FERRY_BIN:-$root/build/ferry}
old_bin=${FERRY_OLD_BIN:-}
out_dir=$here/out
PATH=$PATH:/usr/sbin:/sbin
# ferry's flags, the same for ferry-old (and the fresh processes of the per-round idle scenario);
# --connect-ports any: the origin is on a free port, not 443.
ferry_flags=(--access-log off --connect-ports any)

die() { echo "bench: $*" >&2; exit 1; }
log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }

lists_bench=${BENCH_LISTS:-off}
[[ $lists_bench == off || $lists_bench == on || $lists_bench == only ]] || die "BENCH_LISTS is on, only or off (got '$lists_bench')"
if [[ $lists_bench != off ]]; then
  lists_bin=${FERRY_LISTS_BIN:-$(dirname "$ferry_bin")/bench/acl_lists/ferry_acl_lists_bench}
  [[ -x $lists_bin ]] || die "no list benchmark at $lists_bin; build the target ferry_acl_lists_bench"
  mkdir -p "$out_dir" && "$lists_bin" | tee "$out_dir/acl_lists.txt" || die "the list benchmark failed"
  [[ $lists_bench == only ]] && exit 0
fi

for v in secs slow_secs rounds big_mb deadline many hard_stop; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
(( rounds <= 100 )) || die "BENCH_ROUNDS is at most 100"
(( secs <= 60 && slow_secs <= 60 )) || die "BENCH_SECONDS and BENCH_SLOW_SECONDS are at most 60"
(( many <= 9000 )) || die "BENCH_CONNS is at most 9000 (the peers' configs allow about 9,000 clients)"

# The proxies run with the machine's own open-file limits: nothing is raised for them here
# (ferry fits its limit itself, issue 13; the peers' configs set theirs). The load generators
# (wrk, idle_conns.py) hold $many client sockets each, so they alone get their soft limit
# raised to the hard one, and the hard one to $many + 500 where allowed, in a subshell of
# their own: for_generator CMD... runs CMD so.
gen_files=$((many + 500))
for_generator() {
  (
    h=$(ulimit -Hn)
    [[ $h != unlimited ]] && (( h < gen_files )) && ulimit -Hn "$gen_files" 2>/dev/null || true
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    exec "$@"
  )
}
fd_warning=""
gen_limit=$(for_generator bash -c 'ulimit -n')
[[ $gen_limit == unlimited ]] || (( gen_limit >= gen_files )) ||
  fd_warning="open files limit $gen_limit for the load generators is below $many + 500: the $many-connection scenarios may fail for that reason"

# The participants: ferry and BENCH_PEERS (ferry-old joins the default when a second ferry is given).
[[ -n ${FERRY_BASELINE:-} && -n $old_bin ]] && die "FERRY_BASELINE and FERRY_OLD_BIN: give one of them"
[[ (-n ${FERRY_BASELINE:-} || -n $old_bin) && " $d_peers " != *" ferry-old "* ]] && d_peers="ferry-old $d_peers"
read -ra peers <<<"${BENCH_PEERS-$d_peers}"
(( plain )) || peers=()
known=" ferry-old ferry-log haproxy nginx squid privoxy tinyproxy direct "
declare -A wanted=([ferry]=1)
for name in "${peers[@]}"; do
  [[ $known == *" $name "* ]] || die "BENCH_PEERS: unknown '$name' (known:$known)"
  wanted[$name]=1
done
has() { [[ -n ${wanted[$1]:-} ]]; }
if has ferry-old && [[ -z ${FERRY_BASELINE:-} && -z $old_bin ]]; then
  die "ferry-old needs FERRY_BASELINE=<git rev> (built into build-baseline/) or FERRY_OLD_BIN=<path>"
fi

missing=()
for t in wrk nginx curl python3 dd timeout $(has haproxy && echo haproxy); do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
(( ${#missing[@]} == 0 )) ||
  die "missing ${missing[*]}; run 'make bench' (it calls scripts/install-deps.sh --bench) or install them"
[[ -x $ferry_bin ]] || die "no ferry binary at $ferry_bin; run 'make build' first"
old_label=""
if has ferry-old; then
  if [[ -n ${FERRY_BASELINE:-} ]]; then
    old_bin=$("$here/baseline.sh" "$FERRY_BASELINE") || die "no build of FERRY_BASELINE=$FERRY_BASELINE"
    old_rev=$(git -C "$root" rev-parse --short "$FERRY_BASELINE^{commit}")
    [[ $old_rev == "$FERRY_BASELINE"* ]] || old_rev="$FERRY_BASELINE, $old_rev"
  else
    [[ -x $old_bin ]] || die "FERRY_OLD_BIN=$old_bin is not an executable file"
    old_rev=${FERRY_OLD_REV:-$(basename "$old_bin")}
    [[ -z ${FERRY_OLD_REV:-} && $old_rev =~ ^ferry-([0-9a-f]{7,40})$ ]] && old_rev=${BASH_REMATCH[1]}
  fi
  old_bin=$(realpath "$old_bin")
  old_label="ferry-old ($old_rev)"
  SECONDS=0   # the deadlines count from here, not from the start of a baseline build
fi
slow_peers=()   # optional: a missing one is a note and a row of "not installed"
for name in squid privoxy tinyproxy; do has "$name" && slow_peers+=("$name"); done
declare -A peer_prog=([squid]=squid [privoxy]=privoxy [tinyproxy]=tinyproxy)

clk_tck=$(getconf CLK_TCK)
tmp=$(mktemp -d /tmp/ferry-bench.XXXXXX) || die "cannot create a temp dir"
mkdir -p "$out_dir"
results=$tmp/results.tsv
notes=$tmp/notes.txt
: >"$results"
: >"$notes"
# Squid drops from root to the user proxy, which must be able to reach its folder in here.
chmod 711 "$tmp"

# ---------------------------------------------------------------------------------------------
# Processes: started in the background, remembered by pid, stopped by pid on exit.
# Processes (started, pid, port, status; start_bg, wait_ready, stop_all, ...) and cpu_ticks:
# bench/lib.sh.
# shellcheck source=bench/lib.sh source-path=SCRIPTDIR/..
source "$here/lib.sh"

cleanup() {
  stop_all
  # Keep the small logs for a post-mortem; the big file and nginx's temp files go.
  rm -rf "$out_dir/logs" && mkdir -p "$out_dir/logs"
  cp "$tmp"/*.out "$out_dir/logs/" 2>/dev/null
  for d in origin nginx apache-tls apache-h2 nghttpx-h2; do
    [[ -f $tmp/$d/error.log ]] && cp "$tmp/$d/error.log" "$out_dir/logs/$d-error.log"
  done
  [[ -f $tmp/squid-tls/cache.log ]] && cp "$tmp/squid-tls/cache.log" "$out_dir/logs/squid-tls-cache.log"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Measurements.


# Other load on the machine: CPU time that neither this script (wrk, curl, ...) nor the processes
# it started used, as a share of all cores. On a quiet machine it stays near 0; when other work
# (a compile, a test suite) runs beside the benchmark, the round's absolute numbers are suspect.
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4; exit}' /proc/stat; }   # user + nice + system
own_ticks() {  # this shell and its reaped children, in clock ticks
  # From /proc/$$/stat (utime, stime, cutime, cstime): $$ names this script even inside the
  # $(...) subshell this runs in, where the `times` builtin would report the subshell's 0.
  sed 's/^.*) //' "/proc/$$/stat" | awk '{ printf "%d", $12 + $13 + $14 + $15 }'
}
retired_ticks=0   # CPU of processes started and already stopped (the per-round idle ferries)
started_ticks() { echo $(( $(cpu_ticks "${started[@]}") + retired_ticks )); }
load_mark() { echo "${EPOCHREALTIME/./} $(busy_ticks) $(own_ticks) $(started_ticks)"; }
other_load() {  # other_load MARK: % of the machine used by other processes since MARK
  local t0 b0 s0 o0
  read -r t0 b0 s0 o0 <<<"$1"
  awk -v us=$(( ${EPOCHREALTIME/./} - t0 )) -v hz="$clk_tck" -v cores="$(nproc)" \
      -v d=$(( $(busy_ticks) - b0 - ($(own_ticks) - s0) - ($(started_ticks) - o0) )) \
      'BEGIN { p = d * 100 / (us / 1e6 * hz * cores); printf "%.0f", p < 0 ? 0 : p }'
}

rec() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"; }
note() { echo "$*" >>"$notes"; log "note: $*"; }

alive() { [[ -z ${status[$1]:-} ]] && kill -0 "${pid[$1]}" 2>/dev/null; }
down() { echo "${status[$1]:-failed (exited)}"; }   # the cell for a proxy that is not alive
ended=""
how_ended() {  # sets $ended: how the background process NAME ended (not in $(...): wait needs this shell)
  local rc
  wait "${pid[$1]}" 2>/dev/null; rc=$?
  if (( rc > 128 )); then ended="killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
  else ended="exit status $rc"; fi
}

is_slow() { [[ " ${slow_peers[*]} " == *" $1 "* ]]; }
wrk_secs() { if is_slow "$1"; then echo "$slow_secs"; else echo "$secs"; fi; }

wrk_run() {  # wrk_run NAME CONNS SECONDS OUTFILE [wrk flags, after the defaults so they win]
  local name=$1 conns=$2 s=$3 outf=$4; shift 4
  local path="http://127.0.0.1:${port[origin]}/1k.bin"
  [[ $name == direct ]] && path=/1k.bin
  BENCH_PATH=$path BENCH_HOST=127.0.0.1:${port[origin]} \
    for_generator timeout -k 2 $((s + 15)) wrk -t1 -c"$conns" -d"${s}s" --timeout 5s "$@" \
      -s "$here/wrk-abs.lua" "http://127.0.0.1:${port[$name]}/" >"$outf" 2>&1
}

wrk_check() {  # wrk_check NAME ROUND OUTFILE RC: prints the request count, or nothing on failure
  local name=$1 r=$2 outf=$3 rc=$4 n bad errs
  n=$(awk '/ requests in / {print $1}' "$outf")
  bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$outf")
  errs=$(grep -m1 'Socket errors:' "$outf" | sed 's/^ *//')
  [[ -n $errs ]] && note "round $r, $name: $errs"
  if (( rc != 0 )) || [[ -z $n || $n == 0 ]]; then
    note "round $r, $name: wrk failed (exit $rc): $(tail -n 2 "$outf" | tr '\n' ' ')"
    return 1
  fi
  if [[ -n $bad ]]; then
    note "round $r, $name: $bad of $n responses were not 2xx/3xx"
    return 1
  fi
  echo "$n"
}

measure_throughput() {  # scenario 1: req/s and CPU µs per request
  local name=$1 r=$2 outf=$tmp/wrk-$1-$2-c50.txt t0 t1 rc n rps cpu_pids=""
  if ! alive "$name"; then rec "$r" "$name" rps "$(down "$name")"; rec "$r" "$name" cpu "$(down "$name")"; return; fi
  [[ $name != direct ]] && cpu_pids=${pid[$name]}
  [[ -n $cpu_pids ]] && t0=$(cpu_ticks "$cpu_pids")
  wrk_run "$name" 50 "$(wrk_secs "$name")" "$outf"; rc=$?
  [[ -n $cpu_pids ]] && t1=$(cpu_ticks "$cpu_pids")
  if ! n=$(wrk_check "$name" "$r" "$outf" "$rc") || [[ -z $n ]]; then
    rec "$r" "$name" rps failed; rec "$r" "$name" cpu failed; return
  fi
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$outf")
  rec "$r" "$name" rps "$rps"
  if [[ -n $cpu_pids ]]; then
    rec "$r" "$name" cpu "$(awk -v d=$((t1 - t0)) -v hz="$clk_tck" -v n="$n" \
      'BEGIN {printf "%.2f", d * 1e6 / hz / n}')"
  fi
  log "round $r  $name  c50: $rps req/s"
}

measure_latency() {  # scenario 2: p50 latency with one connection
  local name=$1 r=$2 outf=$tmp/wrk-$1-$2-c1.txt rc p50
  if ! alive "$name"; then rec "$r" "$name" p50 "$(down "$name")"; return; fi
  wrk_run "$name" 1 "$(wrk_secs "$name")" "$outf" --latency; rc=$?
  if ! wrk_check "$name" "$r" "$outf" "$rc" >/dev/null; then rec "$r" "$name" p50 failed; return; fi
  p50=$(awk '$1 == "50%" { v = $2; m = 1
          if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000
          sub(/[a-z]+$/, "", v); printf "%.0f", v * m }' "$outf")
  [[ -n $p50 ]] || { rec "$r" "$name" p50 failed; note "round $r, $name: no 50% line from wrk"; return; }
  rec "$r" "$name" p50 "$p50"
  log "round $r  $name  c1: p50 ${p50} µs"
}

big_bytes=$((big_mb * 1048576))
big_timeout=$((30 + big_mb / 10))   # generous: 10 MB/s would still finish

curl_big() {  # curl_big METRIC NAME ROUND [curl flags]: one download of big.bin, MB/s
  local metric=$1 name=$2 r=$3 res code speed size; shift 3
  res=$(curl -s -o /dev/null --max-time "$big_timeout" -w '%{http_code} %{speed_download} %{size_download}' \
    "$@" "http://127.0.0.1:${port[origin]}/big.bin")
  read -r code speed size <<<"$res"
  if [[ $code != 200 || $size != "$big_bytes" ]]; then
    rec "$r" "$name" "$metric" failed
    note "round $r, $name, $metric: HTTP ${code:-none}, ${size:-0} of $big_bytes bytes"
    return
  fi
  speed=$(awk -v s="$speed" 'BEGIN {printf "%.1f", s / 1e6}')
  rec "$r" "$name" "$metric" "$speed"
  log "round $r  $name  $metric: $speed MB/s"
}

measure_download() {  # scenario 3
  local name=$1 r=$2
  if ! alive "$name"; then rec "$r" "$name" big "$(down "$name")"; return; fi
  if [[ $name == direct ]]; then curl_big big direct "$r"
  else curl_big big "$name" "$r" -x "http://127.0.0.1:${port[$name]}"; fi
}

declare -A connect_status   # empty: CONNECT works; otherwise the text for the table
probe_connect() {  # does NAME tunnel a CONNECT to the origin?
  local name=$1 res code tunnel
  [[ $name == direct ]] && return
  res=$(curl -s -o /dev/null --max-time 5 -w '%{http_code} %{http_connect}' -p \
    -x "http://127.0.0.1:${port[$name]}" "http://127.0.0.1:${port[origin]}/1k.bin")
  read -r code tunnel <<<"$res"
  [[ $tunnel == 2* && $code == 200 ]] && return
  if [[ $name == ferry* ]]; then
    if [[ $tunnel == 501 ]]; then connect_status[$name]="n/a (not implemented)"
    else connect_status[$name]="failed (CONNECT answered ${tunnel:-nothing})"; fi
  else
    connect_status[$name]="no CONNECT"
  fi
  log "CONNECT through $name: answered ${tunnel:-nothing} -> ${connect_status[$name]}"
}

measure_connect() {  # scenario 4; direct is the plain download again, as the reference
  local name=$1 r=$2
  if ! alive "$name"; then rec "$r" "$name" connect "$(down "$name")"; return; fi
  if [[ $name == direct ]]; then curl_big connect direct "$r"; return; fi
  if [[ -n ${connect_status[$name]:-} ]]; then rec "$r" "$name" connect "${connect_status[$name]}"; return; fi
  curl_big connect "$name" "$r" -p -x "http://127.0.0.1:${port[$name]}"
}

proxy_pids() {  # the processes whose memory counts for NAME (children, e.g. nginx's workers, follow)
  echo "${pid[$1]}"
}

measure_idle() {  # measure_idle NAME [AS ROUND METRIC [idle_conns.py flags]]: scenario 5, RSS per idle
  # keep-alive client connection of the running process NAME, recorded for AS (NAME) in ROUND
  # (0: once per run) as METRIC (idle)
  local name=$1 as=${2:-$1} r=${3:-0} metric=${4:-idle}
  local outf=$tmp/idle-$1.txt line ok still closed refused failed bad ann per
  shift $(( $# < 4 ? $# : 4 ))   # the rest: flags for idle_conns.py
  if ! alive "$name"; then rec "$r" "$as" "$metric" "$(down "$name")"; return; fi
  local pids
  read -ra pids <<<"$(proxy_pids "$name")"
  # idle_wall: the TLS rows (bench/tls/phase.sh) give their slower clients more time.
  for_generator timeout -k 2 "${idle_wall:-90}" python3 "$here/idle_conns.py" "${port[$name]}" "${port[origin]}" \
    "$many" "${pids[@]}" --concurrency 200 --time-limit 60 --hold 1 "$@" >"$outf" 2>&1
  line=$(grep -m1 '^ok=' "$outf")
  if [[ -z $line ]]; then
    rec "$r" "$as" "$metric" failed
    note "idle, $as, round $r: idle_conns.py failed: $(tail -n 2 "$outf" | tr '\n' ' ')"; return
  fi
  declare -A f
  local kv
  for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
  ok=${f[ok]} still=${f[still_open]} closed=${f[closed]} refused=${f[refused]} failed=${f[failed]}
  bad=${f[bad_status]} ann=${f[announced_close]} per=${f[rss_per_conn_b]}
  # Once per run every line is a note; in the rounds only the ones that are not a plain figure.
  if (( r == 0 )); then note "idle, $as: $line $(grep -m1 '^errors:' "$outf")"
  elif (( ok != many || still != many )); then note "idle, $as, round $r: $line $(grep -m1 '^errors:' "$outf")"; fi
  if (( ok > 0 && (closed * 2 > ok || ann * 2 > ok) )); then
    rec "$r" "$as" "$metric" "n/a (closes client connections)"
  elif (( ok == many && still == many )); then
    rec "$r" "$as" "$metric" "$per"
    # The fresh process's whole RSS while it holds them: the growth per connection alone favours
    # a process that started bigger (its freed warm-up pages take the first connections for free).
    [[ $metric == idle_fresh ]] && rec "$r" "$as" idle_total "${f[rss_after_kb]}"
  elif (( ok == 0 )); then
    rec "$r" "$as" "$metric" "failed (no connection served: $refused refused, $failed failed, $bad other status)"
  else
    rec "$r" "$as" "$metric" "only $still of $many kept ($((refused + failed + bad)) refused or failed; $per B each)"
  fi
  log "$( (( r > 0 )) && echo "round $r  ")idle  $as: $(awk -F'\t' -v p="$as" -v m="$metric" -v r="$r" \
    '$1 == r && $2 == p && $3 == m {v = $4} END {print v}' "$results") ($still of $many open)"
  (( r == 0 )) && sleep 2   # let the proxy settle after the connections close (a fresh one is stopped)
}

bin_of() { if [[ $1 == ferry-old ]]; then echo "$old_bin"; else echo "$ferry_bin"; fi; }

retire() {  # retire NAME: stop one process of start_bg (TERM, KILL after 5 s), keep its CPU time
  local p=${pid[$1]} i q keep=()
  retired_ticks=$((retired_ticks + $(cpu_ticks "$p")))
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  for q in "${started[@]}"; do [[ $q != "$p" ]] && keep+=("$q"); done
  started=("${keep[@]}")
}

measure_idle_fresh() {  # scenario 5 per round, for ferry and ferry-old: see the head of this file
  local name=$1 r=$2 tag=$1-idle
  port[$tag]=$(free_ports 1)
  status[$tag]=""
  start_bg "$tag" "$(bin_of "$name")" --listen "127.0.0.1:${port[$tag]}" "${ferry_flags[@]}"
  if wait_ready "$tag"; then
    wrk_run "$tag" 50 1 "$tmp/warmup-$tag.txt"   # as the main processes' warm-up
    sleep 0.5
    # --settle 1: read the RSS once it has held still for 1 s (a fixed 1 s read it mid-way now and
    # then, one round's ratio off by 20-35 %), since these figures are compared round by round.
    measure_idle "$tag" "$name" "$r" idle_fresh --settle 1
  else
    rec "$r" "$name" idle_fresh "${status[$tag]}"
    note "round $r, $name, fresh process for idle: ${status[$tag]}: $(tail -n 2 "$tmp/$tag.out" | tr '\n' ' ')"
  fi
  retire "$tag"
}

measure_many() {  # scenario 6, once per run (round 0): wrk -t2 -c$many: errors and req/s
  local name=$1 outf=$tmp/wrk-$1-c$many.txt rc n sock bad errs rps
  if ! alive "$name"; then rec 0 "$name" errors "$(down "$name")"; return; fi
  wrk_run "$name" "$many" 5 "$outf" -t2 --timeout 10s; rc=$?
  n=$(awk '/ requests in / {print $1}' "$outf")
  if (( rc != 0 )) || [[ -z $n ]]; then
    rec 0 "$name" errors "failed (wrk exit $rc)"
    note "c$many, $name: wrk failed (exit $rc): $(tail -n 2 "$outf" | tr '\n' ' ')"
    return
  fi
  # "Socket errors: connect 0, read 0, write 0, timeout 0" — only printed when one is non-zero
  sock=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$outf")
  bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$outf")
  errs=$(( ${sock:-0} + ${bad:-0} ))
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$outf")
  rec 0 "$name" errors "$errs"
  rec 0 "$name" many_rps "${rps:-0}"
  if (( errs > 0 )); then
    note "c$many, $name: $n responses, $(grep -m1 'Socket errors:' "$outf" | sed 's/^ *//')${bad:+, $bad non-2xx}"
    [[ $(awk -F'\t' -v p="$name" '$2 == p && $3 == "idle" {print $4}' "$results") == *closes* ]] &&
      note "c$many, $name: it closes every client connection after the response, which wrk counts as a read error"
  fi
  log "c$many  $name: $errs errors, $rps req/s"
  if ! alive "$name"; then how_ended "$name"; note "c$many, $name: the proxy exited during the run ($ended)"; fi
  sleep 2
}

# ---------------------------------------------------------------------------------------------
# Set-up: the files, the origin, the proxies.

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "temp dir $tmp; $rounds rounds of ${secs}s runs; big file ${big_mb} MiB"
mkdir -p "$tmp/www"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"
dd if=/dev/zero of="$tmp/www/big.bin" bs=1M count="$big_mb" status=none ||
  die "cannot create the ${big_mb} MiB file in $tmp"

read -r p_origin p_ferry p_ferry_old p_ferry_log p_haproxy p_nginx p_squid p_privoxy p_tinyproxy <<<"$(free_ports 9)"
[[ -n $p_tinyproxy ]] || die "cannot find free ports"
port[origin]=$p_origin
port[direct]=$p_origin
port[ferry]=$p_ferry
port[ferry-old]=$p_ferry_old
port[ferry-log]=$p_ferry_log
port[haproxy]=$p_haproxy
port[nginx]=$p_nginx
port[squid]=$p_squid
port[privoxy]=$p_privoxy
port[tinyproxy]=$p_tinyproxy

start_nginx origin origin-nginx.conf.in
wait_ready origin || die "origin nginx did not start: $(tail -n 5 "$tmp/origin.out" "$tmp/origin/error.log" 2>/dev/null)"
code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code} %{size_download}' "http://127.0.0.1:${port[origin]}/1k.bin")
[[ $code == "200 1024" ]] || die "origin does not serve 1k.bin (got '$code')"
pid[direct]=${pid[origin]}

start_bg ferry "$ferry_bin" --listen "127.0.0.1:${port[ferry]}" "${ferry_flags[@]}"
has ferry-old && start_bg ferry-old "$old_bin" --listen "127.0.0.1:${port[ferry-old]}" "${ferry_flags[@]}"
has ferry-log && start_bg ferry-log "$ferry_bin" --listen "127.0.0.1:${port[ferry-log]}" --access-log "$tmp/ferry-access.log"
if has haproxy; then
  mkdir -p "$tmp/haproxy"
  render haproxy.cfg.in "$tmp/haproxy/haproxy.cfg" "$tmp/haproxy" "${port[haproxy]}"
  start_bg haproxy haproxy -db -f "$tmp/haproxy/haproxy.cfg"
fi
has nginx && start_nginx nginx relay-nginx.conf.in
for name in "${slow_peers[@]}"; do
  if ! command -v "${peer_prog[$name]}" >/dev/null 2>&1; then
    status[$name]="not installed"
    continue
  fi
  mkdir -p "$tmp/$name"
  render "$name.conf.in" "$tmp/$name/$name.conf" "$tmp/$name" "${port[$name]}"
  case $name in
    squid) chmod 777 "$tmp/squid"   # written by the user proxy
           start_bg squid squid -N -f "$tmp/squid/squid.conf" ;;
    privoxy) start_bg privoxy privoxy --no-daemon --pidfile "$tmp/privoxy/privoxy.pid" "$tmp/privoxy/privoxy.conf" ;;
    tinyproxy) start_bg tinyproxy tinyproxy -d -c "$tmp/tinyproxy/tinyproxy.conf" ;;
  esac
done

# In every scenario, in this order (rotated each round); ferry-old goes next to ferry, see below.
proxies=()
for name in ferry haproxy nginx squid privoxy tinyproxy direct ferry-log; do has "$name" && proxies+=("$name"); done
servers=()   # the processes under test (direct is the origin)
for name in ferry ferry-old ferry-log haproxy nginx "${slow_peers[@]}"; do has "$name" && servers+=("$name"); done
[[ -n $fd_warning ]] && note "$fd_warning"
if has ferry-old; then
  cmp -s "$ferry_bin" "$old_bin" && note "ferry and $old_label are the same file byte for byte: new ÷ old shows the noise alone"
  ferry_pair=1
else
  ferry_pair=""
fi
for name in "${servers[@]}"; do
  [[ ${status[$name]:-} == "not installed" ]] && { note "$name: not installed (scripts/install-deps.sh --bench)"; continue; }
  if wait_ready "$name"; then
    code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' -x "http://127.0.0.1:${port[$name]}" \
      "http://127.0.0.1:${port[origin]}/1k.bin")
    [[ $code == 200 ]] || status[$name]="failed (answered ${code:-nothing} to a 1 KiB GET)"
  fi
  if [[ -n ${status[$name]:-} ]]; then
    note "$name: ${status[$name]}: $(tail -n 3 "$tmp/$name.out" 2>/dev/null | tr '\n' ' ')"
  fi
done
for name in "${servers[@]}"; do [[ $name != ferry-log ]] && alive "$name" && probe_connect "$name"; done

# Page cache: a cold first read is several times slower than a warm one (ANCHORS.md).
cat "$tmp/www/big.bin" >/dev/null

# Warm-up, discarded: connections, caches, the proxies' pools.
for name in "${proxies[@]}" ${ferry_pair:+ferry-old}; do
  alive "$name" && wrk_run "$name" 50 1 "$tmp/warmup-$name.txt"
done

# ---------------------------------------------------------------------------------------------
# Rounds.

round_time=0
rounds_done=0
for ((r = 1; plain && r <= rounds; r++)); do
  if (( SECONDS + round_time > deadline )); then
    note "stopped after $rounds_done of $rounds rounds: the next would pass the ${deadline}s deadline"
    break
  fi
  t_start=$SECONDS
  mark=$(load_mark)
  n=${#proxies[@]}
  order=()
  for ((i = 0; i < n; i++)); do
    name=${proxies[(i + r - 1) % n]}
    # ferry-old right next to ferry, first in even rounds: the pair shares the round's conditions.
    if [[ $name == ferry && -n $ferry_pair ]]; then
      if (( r % 2 )); then order+=(ferry ferry-old); else order+=(ferry-old ferry); fi
    else
      order+=("$name")
    fi
  done
  log "round $r: ${order[*]}"
  for name in "${order[@]}"; do measure_throughput "$name" "$r"; sleep 0.5; done
  for name in "${order[@]}"; do
    [[ $name == ferry-log ]] && continue
    measure_latency "$name" "$r"; sleep 0.5
  done
  cat "$tmp/www/big.bin" >/dev/null
  for name in "${order[@]}"; do
    [[ $name == ferry-log ]] && continue
    measure_download "$name" "$r"
  done
  for name in "${order[@]}"; do
    [[ $name == ferry-log ]] && continue
    measure_connect "$name" "$r"
  done
  if [[ -n $ferry_pair ]]; then
    for name in "${order[@]}"; do
      [[ $name == ferry || $name == ferry-old ]] && measure_idle_fresh "$name" "$r"
    done
  fi
  rec "$r" machine other "$(other_load "$mark")"
  rounds_done=$r
  round_time=$((SECONDS - t_start))
done

# ---------------------------------------------------------------------------------------------
# Once per run, after the rounds (a proxy that falls over here cannot spoil the rounds): idle
# connections first, on settled proxies, then $many busy ones. Main proxies first, then the slow
# peers, each step skipped with a note once past BENCH_STOP.
once() {  # once FUNCTION NAME
  if (( SECONDS > hard_stop )); then
    rec 0 "$2" "$([[ $1 == measure_idle ]] && echo idle || echo errors)" "skipped (time)"
    note "$1 $2: skipped, past ${hard_stop}s"
    return
  fi
  "$1" "$2"
}
heavy=()
for name in ferry ferry-old haproxy nginx "${slow_peers[@]}"; do has "$name" && heavy+=("$name"); done
if (( plain )); then
  log "once per run: $many idle connections"
  for name in "${heavy[@]}"; do once measure_idle "$name"; done
  log "once per run: $many busy connections"
  for name in ferry ferry-old haproxy nginx direct "${slow_peers[@]}"; do has "$name" && once measure_many "$name"; done
fi

for name in "${servers[@]}"; do
  if [[ -z ${status[$name]:-} ]] && ! kill -0 "${pid[$name]}" 2>/dev/null; then
    how_ended "$name"
    note "$name exited during the run ($ended): $(tail -n 2 "$tmp/$name.out" 2>/dev/null | tr '\n' ' ')"
  fi
done
# ---------------------------------------------------------------------------------------------
# TLS rows (issue 14): bench/tls/phase.sh.
tls_rounds_done=0
if (( tls )); then
  # shellcheck source=bench/tls/phase.sh
  source "$here/tls/phase.sh"
  tls_phase
fi

# ---------------------------------------------------------------------------------------------
# HTTP/2 rows (issue 15): bench/h2/phase.sh.
h2_rounds_done=0
if [[ $h2 != 0 ]]; then
  # shellcheck source=bench/h2/phase.sh
  source "$here/h2/phase.sh"
  h2_phase
fi

# ---------------------------------------------------------------------------------------------
# Status-page rows (issue 16): bench/status/phase.sh.
status_rounds_done=0
if [[ $status_bench != 0 ]]; then
  # shellcheck source=bench/status/phase.sh
  source "$here/status/phase.sh"
  status_phase
fi

# ---------------------------------------------------------------------------------------------
# SOCKS5 rows (issue 17): bench/socks/phase.sh.
socks_rounds_done=0
if [[ $socks_bench != 0 ]]; then
  # shellcheck source=bench/socks/phase.sh
  source "$here/socks/phase.sh"
  socks_phase
fi

if [[ -s $tmp/ferry-access.log ]]; then
  read -r lines bytes < <(wc -lc <"$tmp/ferry-access.log")
  note "ferry's access log: $lines lines, $((bytes / (lines > 0 ? lines : 1))) bytes a line"
fi

# ---------------------------------------------------------------------------------------------
# Report.

facts=$tmp/facts.txt
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), \
$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "ferry: $(timeout 5 "$ferry_bin" --version 2>&1 | head -n 1), commit \
$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted src changes')"
  has ferry-old && echo "$old_label: $old_bin, $(timeout 5 "$old_bin" --version 2>&1 | head -n 1); \
the same flags as ferry (${ferry_flags[*]})"
  echo "mode: $mode; participants: ferry ${peers[*]}"
  versions=()
  has haproxy && versions+=("$(timeout 5 haproxy -v 2>&1 | head -n 1 | cut -d' ' -f1-3)")
  versions+=("$(timeout 5 nginx -v 2>&1)")
  has squid && versions+=("$(timeout 5 squid -v 2>&1 | head -n 1 | sed 's/ for .*//')")
  has privoxy && versions+=("$(timeout 5 privoxy --version 2>&1 | head -n 1 | cut -d' ' -f1-3)")
  has tinyproxy && versions+=("$(timeout 5 tinyproxy -v 2>&1 | head -n 1)")
  versions+=("$(timeout 5 wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)" "$(timeout 5 curl --version | head -n 1 | cut -d' ' -f1-2)")
  printf -v joined '%s; ' "${versions[@]}"
  echo "versions: ${joined%; }"
  (( tls )) && echo "tls: $tls_rounds_done of $rounds rounds of their own after the plain ones; \
$(timeout 5 apache2 -v 2>/dev/null | head -n 1 | sed 's/^Server version: //'); openssl $(openssl version | cut -d' ' -f2); \
certificate EC P-256 from a throwaway CA; peers: ${BENCH_TLS_PEERS:-haproxy squid apache}"
  [[ $h2 != 0 ]] && echo "http/2: $h2_rounds_done of $rounds rounds of their own$( (( plain )) && echo " after the others" || echo " (BENCH_H2=only: no plain or TLS rows)"); \
$(timeout 5 nghttpx --version 2>/dev/null | head -n 1); libnghttp2 $(dpkg-query -W -f='${Version}' libnghttp2-14 2>/dev/null); \
$(timeout 5 "${CHROMIUM:-chromium}" --version 2>/dev/null | head -n 1); \
peers: ${BENCH_H2_PEERS:-haproxy apache nghttpx} (nghttpx's backend: ${BENCH_H2_NGHTTPX_BACKEND:-ferry} on a plain listener)"
  [[ $status_bench != 0 ]] && echo "status page: $status_rounds_done rounds of their own (nobody watching, the status page open, the status and flow pages open; rotated); \
$(timeout 5 "${CHROMIUM:-chromium}" --version 2>/dev/null | head -n 1) headless for the watched runs"
  [[ $socks_bench != 0 ]] && echo "socks5: $socks_rounds_done of $rounds rounds of their own; \
$(timeout 5 danted -v 2>&1 | head -n 1 | cut -d' ' -f1-2 | sed 's/\.$//'); microsocks $(dpkg-query -W -f='${Version}' microsocks 2>/dev/null); \
peers: ${BENCH_SOCKS_PEERS:-dante microsocks}; ${BENCH_SOCKS_CONNS:-50} clients in flight, ${BENCH_SOCKS_IDLE:-2000} idle tunnels"
  (( plain )) || echo "settings: ${secs}s per run (${slow_secs}s for Apache), big file ${big_mb} MiB; \
load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  (( plain )) && echo "settings: $rounds_done of $rounds rounds, ${secs}s per wrk run\
$( (( ${#slow_peers[@]} )) && echo " (${slow_secs}s for ${slow_peers[*]})"), \
big file ${big_mb} MiB, $many connections in the idle and c$many scenarios (once per run, after the rounds\
${ferry_pair:+; idle also in every round for ferry and ferry-old, on fresh processes}); \
load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
} >"$facts"

cp "$results" "$out_dir/latest.tsv"
python3 "$here/report.py" "$results" "$facts" "$notes" "$big_mb" "$many" "$old_label" >"$out_dir/latest.md" ||
  die "report failed; raw results in $out_dir/latest.tsv"
cat "$out_dir/latest.md"
log "done in ${SECONDS}s; table in bench/out/latest.md"
