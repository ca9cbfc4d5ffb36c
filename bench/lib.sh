# Shared helpers of the bench scripts (bench/run.sh, bench/soak.sh), sourced, not run.
# The sourcing script sets: here (the bench dir), tmp (its temp dir). Everything started with
# start_bg is remembered by pid in `started` and stopped by stop_all (the caller's EXIT trap).
# shellcheck shell=bash

# ---------------------------------------------------------------------------------------------
# Processes: started in the background, remembered by pid, stopped by pid on exit.
started=()
declare -A pid port status started_at

stop_all() {
  local p c kids=() i
  for p in "${started[@]}"; do
    # nginx's workers are children of its master: remember them in case the master must be killed.
    for c in /proc/"$p"/task/*/children; do
      [[ -r $c ]] && read -ra more <"$c" && kids+=("${more[@]}")
    done
    kill -TERM "$p" 2>/dev/null
  done
  for p in "${started[@]}"; do
    for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  for p in "${kids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
}
start_bg() {  # start_bg NAME COMMAND...: run in the background, output to $tmp/NAME.out
  local name=$1; shift
  "$@" >"$tmp/$name.out" 2>&1 </dev/null &
  pid[$name]=$!
  started+=("$!")
  started_at[$name]=${EPOCHREALTIME/./}
}

port_open() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() {  # wait_ready NAME: until 5 s after its start for the process to listen on its port
  local name=$1 i
  for ((i = 0; i < 100; i++)); do
    kill -0 "${pid[$name]}" 2>/dev/null || { status[$name]="failed (exited at start)"; return 1; }
    port_open "${port[$name]}" && return 0
    (( ${EPOCHREALTIME/./} - started_at[$name] > 5000000 )) && break
    sleep 0.1
  done
  status[$name]="failed (not listening within 5 s)"
  return 1
}

free_ports() {  # free_ports N: N distinct free TCP ports on 127.0.0.1
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

render() {  # render TEMPLATE OUT DIR PORT: fill a config template from bench/conf
  local user_line=""
  # As root nginx's workers would run as nobody, who cannot enter the 0700 temp dir.
  [[ $(id -u) -eq 0 ]] && user_line="user root;"
  sed -e "s|@DIR@|$3|g" -e "s|@PORT@|$4|g" -e "s|@ORIGIN_PORT@|${port[origin]:-}|g" \
      -e "s|@DOCROOT@|$tmp/www|g" -e "s|@USER_LINE@|$user_line|g" "$here/conf/$1" >"$2"
}

start_nginx() {  # start_nginx NAME TEMPLATE
  local name=$1 dir=$tmp/$1
  mkdir -p "$dir"
  render "$2" "$dir/nginx.conf" "$dir" "${port[$name]}"
  # -e: the error log before the config is read; -p: prefix, so nothing touches /etc or /var.
  start_bg "$name" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g "daemon off;"
}


# CPU time.

cpu_ticks() {  # cpu_ticks PID...: utime+stime of these processes and their children, all threads
  local roots=" $* " f line rest p total=0
  local -a a
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    p=${line%% *}
    rest=${line##*) }
    read -ra a <<<"$rest"
    # after "pid (comm) ": state ppid ... utime is the 12th field, stime the 13th
    if [[ $roots == *" $p "* || $roots == *" ${a[1]} "* ]]; then
      total=$((total + a[11] + a[12]))
    fi
  done
  echo "$total"
}
