# The SOCKS5 rows of `make bench` (issue 17), sourced by bench/run.sh after its status-page rows
# and before its report; not run on its own. Every SOCKS5 server on 127.0.0.1, each on a free port:
#   ferry       --listen socks5://127.0.0.1:P --socks-ports any (ferry's flags: access log off)
#   dante       danted 1.4 (Debian's dante-server) with a config written here: internal
#               127.0.0.1 port P, external 127.0.0.1, socksmethod none, client and socks pass
#               rules for 127.0.0.0/8 (CONNECT), logging errors only; as root with
#               user.privileged root and user.unprivileged nobody (Debian's build needs them)
#   microsocks  microsocks -i 127.0.0.1 -p P (Debian's; one thread per client; it writes a line
#               to stderr per connection and has no switch to stop that: to a file here)
# All three are started with the open-files limit raised to BENCH_CONNS + 500 (as the load
# generators are), so that 2,000 tunnels fit whatever the machine's soft limit is. The client is
# bench/socks/socks_load.c, built here with cc -O2: one thread, epoll, the same for every server
# (RFC 1928, no authentication, CONNECT with ATYP IPv4), connecting from 127.0.0.2 so that its
# TIME_WAITs leave 127.0.0.1's ephemeral ports to the servers; the origin of the small exchanges
# is its echo mode (one thread, epoll). The servers and the echo origin listen on free ports
# below the ephemeral range. In interleaved rounds (BENCH_ROUNDS), the order
# rotated each round:
#   1. new SOCKS5 connections per second: BENCH_SOCKS_CONNS (50) clients in flight, each doing
#      connect, greeting, CONNECT to the echo origin, 64 bytes there and back, close (the origin
#      closes first after its 64 bytes: see socks_load.c's echo --close-after), over and over
#      for BENCH_SECONDS; and the server's CPU µs per connection (/proc, user + system, the
#      process and its children: dante's are processes)
#   2. 1 GiB (BENCH_BIG_MB) through one SOCKS5 tunnel: curl --socks5 of the big file from the
#      nginx origin (HTTP/1.1 inside the tunnel, as the plain rows' CONNECT download): MB/s and
#      the server's CPU s per GiB
#   3. BENCH_SOCKS_IDLE (2,000) idle tunnels, each after one 64-byte exchange, through a fresh
#      process of each server (warmed by 1 s of scenario 1; a process that has just held many
#      tunnels keeps that memory in its heap and reads ~0): the growth of the servers' memory
#      per tunnel, read once it has held still for 1 s; RSS (VmRSS summed over the processes, as
#      the other idle rows) and PSS (shared pages split among the processes sharing them: dante
#      forks, and the RSS sum counts each child's share of the libraries again)
# Results go to run.sh's results file as proxy "<name>-socks", metrics "socks_*"; the report's
# section is bench/socks/socks_report.py. A server that is missing or fails to start is a row
# saying why.
#
# Knobs: BENCH_SOCKS (1 in full mode, 0 in compare mode; "only": these rows alone),
# BENCH_SOCKS_PEERS ("dante microsocks"), BENCH_SOCKS_CONNS (50), BENCH_SOCKS_IDLE (2000),
# BENCH_SOCKS_DEADLINE (300: no SOCKS5 round starts unless it is expected to end this many
# seconds after the phase began); BENCH_ROUNDS, BENCH_SECONDS, BENCH_BIG_MB as for the others.
# shellcheck shell=bash

socks_dir=$tmp/socks
socks_load=""
declare -A socks_prog=([dante]=danted [microsocks]=microsocks)

socks_exec() {  # start_bg TAG socks_exec COMMAND...: COMMAND, exec'd in start_bg's background
  # subshell (so pid[TAG] is the server's own) with the load generators' open-files limit
  local h
  h=$(ulimit -Hn)
  [[ $h != unlimited ]] && (( h < gen_files )) && ulimit -Hn "$gen_files" 2>/dev/null
  ulimit -n "$(ulimit -Hn)" 2>/dev/null
  exec "$@"
}

socks_free_ports() {  # socks_free_ports N: N free ports below the ephemeral range (free_ports'
  # come from inside it, and under this churn of connections one was taken as a source port
  # between the pick and the server's bind: the server exited at start)
  python3 - "$1" <<'PY'
import random, socket, sys
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
want, found = int(sys.argv[1]), []
candidates = list(range(max(1024, low - 12000), low))
random.shuffle(candidates)
for p in candidates:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        found.append(p)
    except OSError:
        pass
    finally:
        s.close()
    if len(found) == want:
        break
print(" ".join(map(str, found)))
PY
}

socks_per_unit() {  # socks_per_unit TICKS COUNT SCALE: CPU time per unit (SCALE 1e6: µs)
  awk -v d="$1" -v hz="$clk_tck" -v n="$2" -v s="$3" 'BEGIN {printf "%.2f", d * s / hz / n}'
}

socks_start() {  # socks_start NAME TAG: start server NAME as TAG on port[TAG]
  local name=$1 tag=$2 dir=$socks_dir/$2 users=""
  if [[ $name != ferry ]] && ! command -v "${socks_prog[$name]}" >/dev/null 2>&1; then
    status[$tag]="not installed"; return
  fi
  status[$tag]=""
  mkdir -p "$dir"
  case $name in
    ferry) start_bg "$tag" socks_exec "$ferry_bin" --listen "socks5://127.0.0.1:${port[$tag]}" \
             --socks-ports any "${ferry_flags[@]}" ;;
    dante) [[ $(id -u) -eq 0 ]] && users=$'user.privileged: root\nuser.unprivileged: nobody'
           cat >"$dir/danted.conf" <<EOF
logoutput: stderr
internal: 127.0.0.1 port = ${port[$tag]}
external: 127.0.0.1
socksmethod: none
clientmethod: none
$users
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  log: error
}
socks pass {
  from: 127.0.0.0/8 to: 127.0.0.0/8
  command: connect
  log: error
}
EOF
           start_bg "$tag" socks_exec danted -f "$dir/danted.conf" -p "$dir/danted.pid" ;;
    microsocks) start_bg "$tag" socks_exec microsocks -i 127.0.0.1 -p "${port[$tag]}" ;;
  esac
}

socks_check() {  # socks_check TAG: listening and tunnelling a 1 KiB GET, else status says why
  local tag=$1 code
  [[ ${status[$tag]:-} == "not installed" ]] && { note "$tag: not installed (scripts/install-deps.sh --bench)"; return 1; }
  if wait_ready "$tag"; then
    code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' --socks5 "127.0.0.1:${port[$tag]}" \
      "http://127.0.0.1:${port[origin]}/1k.bin")
    [[ $code == 200 ]] || status[$tag]="failed (a 1 KiB GET through it: ${code:-nothing})"
  fi
  if [[ -n ${status[$tag]:-} ]]; then
    note "$tag: ${status[$tag]}: $(tail -n 3 "$tmp/$tag.out" 2>/dev/null | tr '\n' ' ' | cut -c1-300)"
    return 1
  fi
}

socks_build() {  # builds bench/socks/socks_load.c into the temp dir; sets socks_load
  local out=$socks_dir/socks_load cc=${CC:-cc}
  if ! command -v "$cc" >/dev/null 2>&1; then
    note "SOCKS5 rows: no C compiler ($cc) to build bench/socks/socks_load.c: not measured"; return 1
  fi
  if "$cc" -O2 -Wall -o "$out" "$here/socks/socks_load.c" >"$socks_dir/cc.out" 2>&1; then
    socks_load=$out
  else
    note "SOCKS5 rows: bench/socks/socks_load.c did not build: $(head -n 2 "$socks_dir/cc.out" | tr '\n' ' ')"
    return 1
  fi
}

socks_rate() {  # scenario 1: socks_rate TAG ROUND SECONDS [OUTFILE]
  local tag=$1 r=$2 s=$3 outf=${4:-$tmp/socks-rate-$1-$2.txt} t0 t1 rc line kv
  local -A f
  if ! alive "$tag"; then rec "$r" "$tag" socks_cps "$(down "$tag")"; return; fi
  t0=$(cpu_ticks "${pid[$tag]}")
  for_generator timeout -k 2 $((s + 15)) "$socks_load" rate "${port[$tag]}" "${port[socks-echo]}" \
    --seconds "$s" --conns "${BENCH_SOCKS_CONNS:-50}" >"$outf" 2>&1; rc=$?
  t1=$(cpu_ticks "${pid[$tag]}")
  (( r < 0 )) && return   # a warm-up
  line=$(grep -m1 '^connections=' "$outf")
  if [[ -z $line ]]; then
    rec "$r" "$tag" socks_cps failed
    note "round $r, $tag, connections: exit $rc: $(tail -n 2 "$outf" | tr '\n' ' ')"; return
  fi
  for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
  (( f[failed] > 0 )) && note "round $r, $tag, connections: ${f[failed]} failed: $(grep -m1 '^errors:' "$outf")"
  if (( f[connections] == 0 )); then rec "$r" "$tag" socks_cps failed; return; fi
  rec "$r" "$tag" socks_cps "${f[rate]}"
  rec "$r" "$tag" socks_cps_cpu "$(socks_per_unit $((t1 - t0)) "${f[connections]}" 1e6)"
  log "round $r  $tag  new connections: ${f[rate]}/s"
}

socks_download() {  # scenario 2
  local tag=$1 r=$2 t0 t1 v
  if ! alive "$tag"; then rec "$r" "$tag" socks_big "$(down "$tag")"; return; fi
  t0=$(cpu_ticks "${pid[$tag]}")
  curl_big socks_big "$tag" "$r" --socks5 "127.0.0.1:${port[$tag]}"
  t1=$(cpu_ticks "${pid[$tag]}")
  v=$(awk -F'\t' -v r="$r" -v p="$tag" '$1 == r && $2 == p && $3 == "socks_big" {v = $4} END {print v}' "$results")
  [[ $v =~ ^[0-9.]+$ ]] && rec "$r" "$tag" socks_big_cpu "$(socks_per_unit $((t1 - t0)) "$big_mb" 1024)"
}

socks_idle() {  # scenario 3, on a fresh process: socks_idle NAME ROUND
  local name=$1 r=$2 tag=$1-socks-idle outf=$tmp/socks-idle-$1-$2.txt line kv n=${BENCH_SOCKS_IDLE:-2000} rc
  local -A f
  port[$tag]=$(socks_free_ports 1)
  socks_start "$name" "$tag"
  if [[ -n ${status[$tag]:-} ]] || ! wait_ready "$tag"; then
    rec "$r" "$name-socks" socks_idle "${status[$tag]:-failed}"
    [[ ${status[$tag]} == "not installed" ]] || retire "$tag"
    return
  fi
  socks_rate "$tag" -1 1 "$tmp/socks-warmup-$tag.txt"
  sleep 0.5
  for_generator timeout -k 2 90 "$socks_load" idle "${port[$tag]}" "${port[socks-echo-idle]}" --tunnels "$n" \
    --pids "${pid[$tag]}" --concurrency 100 --hold 1 --settle 1 --time-limit 60 >"$outf" 2>&1; rc=$?
  retire "$tag"
  line=$(grep -m1 '^ok=' "$outf")
  if [[ -z $line ]]; then
    rec "$r" "$name-socks" socks_idle failed
    note "round $r, $name-socks, idle: exit $rc: $(tail -n 2 "$outf" | tr '\n' ' ')"; return
  fi
  for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
  if (( f[ok] == n && f[still_open] == n )); then
    rec "$r" "$name-socks" socks_idle "${f[rss_per_tunnel_b]}"
    rec "$r" "$name-socks" socks_idle_pss "${f[pss_per_tunnel_b]}"
    rec "$r" "$name-socks" socks_idle_procs "${f[processes]}"
  else
    rec "$r" "$name-socks" socks_idle "only ${f[still_open]} of $n kept"
    note "round $r, $name-socks, idle: $line $(grep -m1 '^errors:' "$outf")"
  fi
  log "round $r  $name-socks  idle: ${f[rss_per_tunnel_b]} B RSS, ${f[pss_per_tunnel_b]} B PSS per tunnel (${f[still_open]} of $n open)"
}

socks_phase() {
  local t_phase=$SECONDS name tag r i n round_time=0 t_start mark rounds_done=0
  local -a socks_names=(ferry) order
  read -ra more <<<"${BENCH_SOCKS_PEERS:-dante microsocks}"
  for name in "${more[@]}"; do
    [[ -n ${socks_prog[$name]:-} ]] || { note "BENCH_SOCKS_PEERS: unknown '$name' (known: dante microsocks): skipped"; continue; }
    socks_names+=("$name")
  done
  mkdir -p "$socks_dir"
  socks_build || return
  read -ra ports_socks <<<"$(socks_free_ports $((${#socks_names[@]} + 2)))"
  # Two echo origins: one closes after its 64 bytes (scenario 1: the origin closes first and
  # keeps the TIME_WAIT), one keeps its connections (scenario 3).
  port[socks-echo]=${ports_socks[0]}
  port[socks-echo-idle]=${ports_socks[1]}
  start_bg socks-echo socks_exec "$socks_load" echo "${port[socks-echo]}" --close-after 64
  start_bg socks-echo-idle socks_exec "$socks_load" echo "${port[socks-echo-idle]}"
  for tag in socks-echo socks-echo-idle; do
    wait_ready "$tag" || { note "SOCKS5 rows: the echo origin did not start: $(tail -n 2 "$tmp/$tag.out")"; return; }
  done
  for ((i = 0; i < ${#socks_names[@]}; i++)); do
    port[${socks_names[i]}-socks]=${ports_socks[i + 2]}
    socks_start "${socks_names[i]}" "${socks_names[i]}-socks"
  done
  for name in "${socks_names[@]}"; do socks_check "$name-socks" && socks_rate "$name-socks" -1 1 "$tmp/socks-warmup-$name.txt"; done

  for ((r = 1; r <= rounds; r++)); do
    if (( SECONDS - t_phase + round_time > ${BENCH_SOCKS_DEADLINE:-300} )); then
      note "SOCKS5: stopped after $rounds_done of $rounds rounds: the next would pass the ${BENCH_SOCKS_DEADLINE:-300}s SOCKS5 deadline"
      break
    fi
    t_start=$SECONDS
    mark=$(load_mark)
    n=${#socks_names[@]}
    order=()
    for ((i = 0; i < n; i++)); do order+=("${socks_names[(i + r - 1) % n]}"); done
    log "SOCKS5 round $r: ${order[*]}"
    for name in "${order[@]}"; do socks_rate "$name-socks" "$r" "$secs"; sleep 0.5; done
    cat "$tmp/www/big.bin" >/dev/null
    for name in "${order[@]}"; do socks_download "$name-socks" "$r"; done
    for name in "${order[@]}"; do socks_idle "$name" "$r"; sleep 0.5; done
    rec "$r" machine socks_other "$(other_load "$mark")"
    rounds_done=$r
    round_time=$((SECONDS - t_start))
  done
  for name in "${socks_names[@]}"; do
    tag=$name-socks
    if [[ -z ${status[$tag]:-} ]] && ! kill -0 "${pid[$tag]}" 2>/dev/null; then
      how_ended "$tag"
      note "$tag exited during the run ($ended): $(tail -n 2 "$tmp/$tag.out" 2>/dev/null | tr '\n' ' ')"
    fi
  done
  socks_rounds_done=$rounds_done   # for run.sh's facts line
  log "SOCKS5 phase: $rounds_done rounds in $((SECONDS - t_phase))s"
}
