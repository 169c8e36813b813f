#!/usr/bin/env bash
# bench/mem.sh — iocd's RSS per series: a fresh mosquitto on a free
# 127.0.0.1 port, iocd with bench/run.py's air-quality adapter (defaults
# otherwise), and bench-pub sending 3 messages from each of SENSORS sensors
# (10 metrics each, so 10 x SENSORS series). Prints VmHWM (peak) and VmRSS
# once iocd has received everything and 3 s passed. Stops only what it
# started, by PID. Run it at two sizes; the difference over the difference
# in series is the cost per series, the rest the fixed base.
# Usage: bench/mem.sh [BUILD_DIR] [SENSORS]   (default: build 10000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$root/build}; S=${2:-10000}; N=$((S * 3))
dir=$(mktemp -d); trap 'kill $IO $MQ 2>/dev/null; rm -rf "$dir"' EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
P=$(port); H=$(port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n' "$P" > "$dir/mq.conf"
mosquitto -c "$dir/mq.conf" > "$dir/mq.log" 2>&1 & MQ=$!
sleep 0.5
{ printf '[mqtt]\nhost = 127.0.0.1\nport = %s\nqos = 1\n\n[store]\npath = %s/iocd.db\n\n[http]\nlisten = 127.0.0.1:%s\n\n' "$P" "$dir" "$H"
  python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import run; print(run.AQ_ADAPTER)' "$root/bench"
} > "$dir/iocd.conf"
"$B/daemon/iocd" --config "$dir/iocd.conf" > "$dir/iocd.log" 2>&1 & IO=$!
sleep 1.5
"$B/bench/bench-pub" --port "$P" --count "$N" --sensors "$S" --qos 1 > /dev/null
for _ in $(seq 1 240); do
  m=$(curl -s "127.0.0.1:$H/metrics" | awk '/^iocd_messages_total/{s+=$2}END{print s+0}')
  [ "$m" -ge "$N" ] && break; sleep 0.5
done
sleep 3
echo "sensors $S series $((S * 10)) messages $m: $(grep -E 'VmHWM|VmRSS' /proc/$IO/status | tr -s ' \t\n' ' ')"
