# The TLS rows of `make bench` (issue 14), sourced by bench/run.sh after its plain scenarios
# and before its report; not run on its own. Every TLS proxy is measured in the same run:
#   ferry    --listen https://127.0.0.1:P --tls-cert proxy.pem --tls-key proxy.key (ferry's flags)
#   HAProxy  bind ... ssl crt (bench/conf/haproxy-tls.cfg.in)
#   Squid    https_port, Debian's GnuTLS build (bench/conf/squid-tls.conf.in)
#   Apache   httpd, ProxyRequests On on an SSL virtual host (bench/conf/apache-tls.conf.in)
# each as its own process on a free port of 127.0.0.1, with a throwaway CA and an EC P-256 proxy
# certificate made here by openssl. In interleaved rounds, the order rotated each round:
#   1. wrk -t1 -c50 over TLS to the proxy, absolute-form 1 KiB GETs inside the TLS connections
#      (what curl --proxy https:// and browsers send): req/s and the proxy's CPU µs per request
#   2. new TLS handshakes per second, full and resumed (bench/tls/tls_handshakes.c, built here:
#      8 connections in flight, connect + handshake + close_notify, over and over), and the
#      proxy's CPU µs per handshake
#   3. curl --proxy https:// of the big file (BENCH_BIG_MB): MB/s and the proxy's CPU s per GiB
# Once per run, after the rounds: 4. BENCH_CONNS idle keep-alive TLS clients after one 1 KiB
# GET each (bench/idle_conns.py --tls, 50 handshakes in flight, up to 180 s to open them all):
# RSS growth of the proxy's processes per client.
# Results go to run.sh's results file as proxy "<name>-tls", metrics "tls_*"; report.py makes
# the TLS section from them. A peer that is missing or fails to start is a row saying why.
#
# Knobs: BENCH_TLS (1 in full mode, 0 in compare mode: 0 skips this phase), BENCH_TLS_PEERS
# ("haproxy squid apache"), BENCH_TLS_DEADLINE (420: no TLS round starts unless it is expected
# to end this many seconds after the phase began), BENCH_TLS_STOP (540: the idle scenario of a
# proxy is skipped past it); BENCH_ROUNDS, BENCH_SECONDS, BENCH_SLOW_SECONDS (Squid, Apache),
# BENCH_BIG_MB and BENCH_CONNS as for the plain rows.
# shellcheck shell=bash

tls_dir=$tmp/tls
declare -A tls_prog=([haproxy]=haproxy [squid]=squid [apache]=apache2)
tls_hs=""   # the handshake client, once built

tls_make_certs() {  # a CA and a proxy certificate for 127.0.0.1, EC P-256, valid 2 days
  mkdir -p "$tls_dir"
  (
    set -e
    cd "$tls_dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
      -days 2 -subj "/CN=ferry bench CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout proxy.key -out proxy.csr \
      -subj "/CN=127.0.0.1" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >ext.cnf
    openssl x509 -req -in proxy.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf \
      -out proxy.pem 2>/dev/null
    cat proxy.pem proxy.key >proxy-full.pem   # HAProxy's crt: certificate and key in one file
    # Squid and Apache's children read the key after dropping root (to proxy, www-data).
    chmod 644 proxy.key proxy-full.pem
  )
}

tls_build_client() {  # builds bench/tls/tls_handshakes.c into the temp dir; sets tls_hs
  local out=$tls_dir/tls_handshakes cc=${CC:-cc}
  if ! command -v "$cc" >/dev/null 2>&1; then
    note "TLS handshakes: no C compiler ($cc) to build bench/tls/tls_handshakes.c: not measured"; return
  fi
  if "$cc" -O2 -Wall -o "$out" "$here/tls/tls_handshakes.c" -lssl -lcrypto >"$tls_dir/cc.out" 2>&1; then
    tls_hs=$out
  else
    note "TLS handshakes: bench/tls/tls_handshakes.c did not build (libssl-dev?): $(head -n 2 "$tls_dir/cc.out" | tr '\n' ' ')"
  fi
}

tls_start() {  # tls_start NAME: start NAME-tls on its port
  local name=$1 tag=$1-tls dir=$tmp/$1-tls
  if [[ $name != ferry ]] && ! command -v "${tls_prog[$name]}" >/dev/null 2>&1; then
    status[$tag]="not installed"; return
  fi
  mkdir -p "$dir"
  case $name in
    ferry) start_bg "$tag" "$ferry_bin" --listen "https://127.0.0.1:${port[$tag]}" \
             --tls-cert "$tls_dir/proxy.pem" --tls-key "$tls_dir/proxy.key" "${ferry_flags[@]}" ;;
    haproxy) render haproxy-tls.cfg.in "$dir/haproxy.cfg" "$dir" "${port[$tag]}"
             sed -i "s|@TLS@|$tls_dir|g" "$dir/haproxy.cfg"
             start_bg "$tag" haproxy -db -f "$dir/haproxy.cfg" ;;
    squid) render squid-tls.conf.in "$dir/squid.conf" "$dir" "${port[$tag]}"
           sed -i "s|@TLS@|$tls_dir|g" "$dir/squid.conf"
           chmod 777 "$dir"   # written by the user proxy
           start_bg "$tag" squid -N -f "$dir/squid.conf" ;;
    apache) render apache-tls.conf.in "$dir/apache.conf" "$dir" "${port[$tag]}"
            local user=""
            [[ $(id -u) -eq 0 ]] && user="User www-data\nGroup www-data"
            sed -i -e "s|@TLS@|$tls_dir|g" -e "s|@APACHE_USER@|$user|" "$dir/apache.conf"
            start_bg "$tag" apache2 -f "$dir/apache.conf" -DFOREGROUND ;;
  esac
}

tls_check() {  # tls_check TAG: listening and answering a 1 KiB GET through TLS, else status says why
  local tag=$1 code
  [[ ${status[$tag]:-} == "not installed" ]] && { note "$tag: not installed (scripts/install-deps.sh --bench)"; return; }
  if wait_ready "$tag"; then
    code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' --proxy "https://127.0.0.1:${port[$tag]}" \
      --proxy-cacert "$tls_dir/ca.pem" "http://127.0.0.1:${port[origin]}/1k.bin")
    [[ $code == 200 ]] || status[$tag]="failed (answered ${code:-nothing} to a 1 KiB GET over TLS)"
  fi
  [[ -n ${status[$tag]:-} ]] &&
    note "$tag: ${status[$tag]}: $(tail -n 3 "$tmp/$tag.out" "$tmp/$tag/error.log" 2>/dev/null | grep -v '^==' | tr '\n' ' ')"
}

tls_wrk() {  # tls_wrk TAG CONNS SECONDS OUTFILE: wrk over TLS, absolute-form requests inside
  BENCH_PATH=http://127.0.0.1:${port[origin]}/1k.bin BENCH_HOST=127.0.0.1:${port[origin]} \
    for_generator timeout -k 2 $(($3 + 15)) wrk -t1 -c"$2" -d"${3}s" --timeout 5s \
      -s "$here/wrk-abs.lua" "https://127.0.0.1:${port[$1]}/" >"$4" 2>&1
}

# Squid and Apache are the slow peers here: BENCH_SLOW_SECONDS per run, as Squid in the plain rows.
tls_secs() { if [[ $1 == squid-tls || $1 == apache-tls ]]; then echo "$slow_secs"; else echo "$secs"; fi; }

per_unit() {  # per_unit TICKS COUNT SCALE: CPU time per unit (SCALE 1e6: µs)
  awk -v d="$1" -v hz="$clk_tck" -v n="$2" -v s="$3" 'BEGIN {printf "%.2f", d * s / hz / n}'
}

tls_keepalive() {  # scenario 1
  local tag=$1 r=$2 outf=$tmp/wrk-$1-$2.txt t0 t1 rc n rps
  if ! alive "$tag"; then rec "$r" "$tag" tls_rps "$(down "$tag")"; rec "$r" "$tag" tls_cpu "$(down "$tag")"; return; fi
  t0=$(cpu_ticks "${pid[$tag]}")
  tls_wrk "$tag" 50 "$(tls_secs "$tag")" "$outf"; rc=$?
  t1=$(cpu_ticks "${pid[$tag]}")
  if ! n=$(wrk_check "$tag" "$r" "$outf" "$rc") || [[ -z $n ]]; then
    rec "$r" "$tag" tls_rps failed; rec "$r" "$tag" tls_cpu failed; return
  fi
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$outf")
  rec "$r" "$tag" tls_rps "$rps"
  rec "$r" "$tag" tls_cpu "$(per_unit $((t1 - t0)) "$n" 1e6)"
  log "round $r  $tag  c50: $rps req/s"
}

tls_handshakes() {  # scenario 2: tls_handshakes TAG ROUND full|res
  local tag=$1 r=$2 kind=$3 outf=$tmp/hs-$1-$2-$3.txt t0 t1 rc line kv resume=()
  local -A f
  [[ $kind == res ]] && resume=(--resume)
  if ! alive "$tag"; then rec "$r" "$tag" "tls_hs_$kind" "$(down "$tag")"; return; fi
  [[ -n $tls_hs ]] || { rec "$r" "$tag" "tls_hs_$kind" "not measured (no client)"; return; }
  t0=$(cpu_ticks "${pid[$tag]}")
  for_generator timeout -k 2 $(($(tls_secs "$tag") + 15)) "$tls_hs" "${port[$tag]}" --seconds "$(tls_secs "$tag")" \
    --conns 8 "${resume[@]}" >"$outf" 2>&1; rc=$?
  t1=$(cpu_ticks "${pid[$tag]}")
  line=$(grep -m1 '^handshakes=' "$outf")
  if [[ -z $line ]]; then
    if grep -q 'no resumable session' "$outf"; then
      rec "$r" "$tag" "tls_hs_$kind" "n/a (no session resumption)"
    else
      rec "$r" "$tag" "tls_hs_$kind" failed
      note "round $r, $tag, $kind handshakes: exit $rc: $(tail -n 2 "$outf" | tr '\n' ' ')"
    fi
    return
  fi
  for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
  (( f[failed] > 0 )) && note "round $r, $tag, $kind handshakes: ${f[failed]} failed: $(grep -m1 '^errors:' "$outf")"
  if [[ $kind == res ]] && (( f[resumed] * 10 < f[handshakes] * 9 )); then
    rec "$r" "$tag" tls_hs_res "n/a (resumed only ${f[resumed]} of ${f[handshakes]})"; return
  fi
  rec "$r" "$tag" "tls_hs_$kind" "${f[rate]}"
  (( f[handshakes] > 0 )) && rec "$r" "$tag" "tls_hs_${kind}_cpu" "$(per_unit $((t1 - t0)) "${f[handshakes]}" 1e6)"
  [[ $kind == full && -z ${tls_suite[$tag]:-} ]] && tls_suite[$tag]="${f[version]} ${f[cipher]} ${f[group]}"
  log "round $r  $tag  $kind handshakes: ${f[rate]}/s"
}
declare -A tls_suite

tls_download() {  # scenario 3
  local tag=$1 r=$2 t0 t1 v
  if ! alive "$tag"; then rec "$r" "$tag" tls_big "$(down "$tag")"; return; fi
  t0=$(cpu_ticks "${pid[$tag]}")
  curl_big tls_big "$tag" "$r" --proxy "https://127.0.0.1:${port[$tag]}" --proxy-cacert "$tls_dir/ca.pem"
  t1=$(cpu_ticks "${pid[$tag]}")
  v=$(awk -F'\t' -v r="$r" -v p="$tag" '$1 == r && $2 == p && $3 == "tls_big" {v = $4} END {print v}' "$results")
  [[ $v =~ ^[0-9.]+$ ]] && rec "$r" "$tag" tls_big_cpu "$(per_unit $((t1 - t0)) "$big_mb" 1024)"
}

tls_phase() {
  local t_phase=$SECONDS name tag r i n round_time=0 t_start mark rounds_done=0
  local -a tls_names=(ferry) order
  read -ra more <<<"${BENCH_TLS_PEERS:-haproxy squid apache}"
  for name in "${more[@]}"; do
    [[ -n ${tls_prog[$name]:-} ]] || { note "BENCH_TLS_PEERS: unknown '$name' (known: haproxy squid apache): skipped"; continue; }
    tls_names+=("$name")
  done
  if ! command -v openssl >/dev/null 2>&1; then
    note "TLS rows: skipped, no openssl command to make the certificates"; return
  fi
  if ! tls_make_certs; then note "TLS rows: skipped, openssl could not make the certificates"; return; fi
  tls_build_client
  read -ra ports_tls <<<"$(free_ports ${#tls_names[@]})"
  for ((i = 0; i < ${#tls_names[@]}; i++)); do
    port[${tls_names[i]}-tls]=${ports_tls[i]}
    tls_start "${tls_names[i]}"
  done
  for name in "${tls_names[@]}"; do tls_check "$name-tls"; done
  for name in "${tls_names[@]}"; do
    alive "$name-tls" && tls_wrk "$name-tls" 50 1 "$tmp/warmup-$name-tls.txt"
  done

  for ((r = 1; r <= rounds; r++)); do
    if (( SECONDS - t_phase + round_time > ${BENCH_TLS_DEADLINE:-420} )); then
      note "TLS: stopped after $rounds_done of $rounds rounds: the next would pass the ${BENCH_TLS_DEADLINE:-420}s TLS deadline"
      break
    fi
    t_start=$SECONDS
    mark=$(load_mark)
    n=${#tls_names[@]}
    order=()
    for ((i = 0; i < n; i++)); do order+=("${tls_names[(i + r - 1) % n]}-tls"); done
    log "TLS round $r: ${order[*]}"
    for tag in "${order[@]}"; do tls_keepalive "$tag" "$r"; sleep 0.5; done
    for tag in "${order[@]}"; do tls_handshakes "$tag" "$r" full; sleep 0.5; done
    for tag in "${order[@]}"; do tls_handshakes "$tag" "$r" res; sleep 0.5; done
    cat "$tmp/www/big.bin" >/dev/null
    for tag in "${order[@]}"; do tls_download "$tag" "$r"; done
    rec "$r" machine tls_other "$(other_load "$mark")"
    rounds_done=$r
    round_time=$((SECONDS - t_start))
  done

  log "TLS, once per run: $many idle TLS clients"
  for name in "${tls_names[@]}"; do
    tag=$name-tls
    if (( SECONDS - t_phase > ${BENCH_TLS_STOP:-540} )); then
      rec 0 "$tag" tls_idle "skipped (time)"; note "TLS idle $tag: skipped, past ${BENCH_TLS_STOP:-540}s of the TLS phase"
      continue
    fi
    # 50 handshakes in flight, not 200: Apache's event MPM closes every idle keep-alive
    # connection when all its workers are busy (handshakes take a worker), and 200 at once did
    # that to 71 of 300 clients. No certificate check: the client's CPU only slows the opening.
    idle_wall=200 measure_idle "$tag" "$tag" 0 tls_idle --tls --concurrency 50 --time-limit 180
  done
  for name in "${tls_names[@]}"; do
    tag=$name-tls
    [[ -n ${tls_suite[$tag]:-} ]] && rec 0 "$tag" tls_suite "${tls_suite[$tag]}"
    if [[ -z ${status[$tag]:-} ]] && ! kill -0 "${pid[$tag]}" 2>/dev/null; then
      how_ended "$tag"
      note "$tag exited during the run ($ended): $(tail -n 2 "$tmp/$tag.out" 2>/dev/null | tr '\n' ' ')"
    fi
  done
  tls_rounds_done=$rounds_done   # for run.sh's facts line
  log "TLS phase: $rounds_done rounds in $((SECONDS - t_phase))s"
}
