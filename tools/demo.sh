#!/usr/bin/env bash
# tools/demo.sh — the README's first command: install what is missing,
# build, and run iocd's main job on this machine: a local mosquitto broker,
# iocd on its embedded defaults (SQLite in ./run/iocd.db) and iocd-sim
# publishing a simulated Pleiku city feed. With --map, iocd also gets the
# device registry iocd-sim writes for its Pleiku (run/pleiku-registry.csv:
# every device on the console's map) and PM2.5 per ward. Prints the
# operator's view every few seconds; Ctrl-C (or --duration) stops
# everything it started, by PID.
#
# Usage: tools/demo.sh [--duration SECONDS] [--port PORT] [--map]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

duration=0
port=1883
map=0
while [ $# -gt 0 ]; do
  case $1 in
    --map) map=1; shift ;;
    --duration) duration=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
  esac
done

tools/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

mkdir -p run
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping (iocd writes every aggregate before it exits)"
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  echo "demo: the database stays in run/iocd.db; try:"
  echo "  build/tools/iocctl --db run/iocd.db series"
  echo "  build/tools/iocctl --db run/iocd.db query air/GL-AQ01/pm25 --resolution 1m"
}
trap cleanup INT TERM EXIT

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if listening; then
  echo "demo: using the MQTT broker already listening on 127.0.0.1:$port"
else
  printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n' "$port" \
    > run/mosquitto.conf
  mosquitto -c run/mosquitto.conf > run/mosquitto.log 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do listening && break; sleep 0.1; done
  echo "demo: started mosquitto on 127.0.0.1:$port (pid ${pids[-1]})"
fi

conf=()
if [ "$map" = 1 ]; then
  # The shipped configuration (the embedded defaults' feeds) with the
  # simulator's device registry (names, positions, wards: docs/registry.md)
  # and PM2.5 per ward, one group per area of that registry (docs/groups.md).
  build/tools/iocd-sim --write-registry run/pleiku-registry.csv
  portline=""
  [ "$port" != 1883 ] && portline="\nport = $port"
  sed -e "s/^\[mqtt\]$/[mqtt]$portline/" \
      -e "s/^\[devices\]$/[devices]\nregistry = pleiku-registry.csv/" \
      config/iocd.conf > run/iocd.conf
  printf '\n[group ward_pm25]\nkind = merged\nmembers = air/+/pm25\nseries = air/ward:{area}/pm25\n' \
      >> run/iocd.conf
  conf=(--config "$root/run/iocd.conf")
  echo "demo: device registry run/pleiku-registry.csv ($(($(wc -l < run/pleiku-registry.csv) - 1)) devices)"
elif [ "$port" != 1883 ]; then
  # Same feeds as the embedded defaults, another broker port.
  sed -e "s/^\[mqtt\]$/[mqtt]\nport = $port/" config/iocd.conf > run/iocd.conf
  conf=(--config "$root/run/iocd.conf")
fi
(cd run && exec "$root/build/daemon/iocd" "${conf[@]}") > run/iocd.log 2>&1 &
pids+=($!)
iocdpid=${pids[-1]}
for _ in $(seq 100); do
  grep -q "ready: ingesting" run/iocd.log && break
  if ! kill -0 "$iocdpid" 2>/dev/null; then
    echo "demo: iocd exited; its log:" >&2
    cat run/iocd.log >&2
    exit 1
  fi
  sleep 0.1
done
echo "demo: started iocd (pid $iocdpid), log in run/iocd.log, database run/iocd.db"

sim=(build/tools/iocd-sim --port "$port" --quiet)
[ "$duration" != 0 ] && sim+=(--duration "$duration")
"${sim[@]}" > run/iocd-sim.log 2>&1 &
simpid=$!
pids+=($simpid)
echo "demo: started iocd-sim (pid $simpid): every Pleiku subsystem (air, traffic, water, weather, rain, violations, street lighting, buses, fire alarms, citizen reports, parking)"
echo "demo: operator console: http://127.0.0.1:8080/   live feed: build/tools/iocctl tail"
echo "demo: Ctrl-C to stop"

sleep 3
while kill -0 "$simpid" 2>/dev/null; do
  clear 2>/dev/null || true
  echo "== iocctl status        $(date -u +%H:%M:%SZ)   console: http://127.0.0.1:8080/"
  build/tools/iocctl status || true
  echo
  echo "== iocctl alerts"
  build/tools/iocctl alerts --from -1h | tail -n 6 || true
  echo
  echo "== iocctl query air/GL-AQ01/pm25 --resolution 1m --from -5m"
  build/tools/iocctl --db run/iocd.db query air/GL-AQ01/pm25 --resolution 1m --from -5m || true
  echo
  echo "== iocctl devices --area 'Hội Thương'"
  build/tools/iocctl devices --area "Hội Thương" | tail -n 6 || true
  echo
  echo "== iocctl query traffic/GL-TC001/vehicles --resolution 1m --from -5m"
  build/tools/iocctl --db run/iocd.db query traffic/GL-TC001/vehicles --resolution 1m --from -5m || true
  sleep 5
done
