#!/usr/bin/env bash
# Side by side on this machine, in one run: Shoal (3 storaged processes,
# N=3 R=2 W=2) and etcd (3 members, Raft), the same YCSB workloads (A, B, C,
# F), the same records (1,000-byte values), the same client threads and the
# same durability (every acknowledged write fsynced on a majority: W=2 of 3
# for Shoal, a Raft quorum of 2 of 3 for etcd), both over mutual TLS.
# Then a latency-throughput sweep of one workload on each, drawn in one chart.
#
# Usage: bench/compare.sh [OUT_DIR]          (default OUT_DIR: bench-results)
# Knobs (environment): RECORDS THREADS DURATION WORKLOADS VALUE_SIZE SWEEP
#   SWEEP_WORKLOAD SWEEP_START SWEEP_STEP SWEEP_STEPS SWEEP_STEP_TIME
#
# Needs etcd and etcdctl (apt-get install etcd-server etcd-client) and ss.
# Servers listen on 127.0.0.21-23 (storaged, UDP 7070) and 127.0.0.11-13
# (etcd, TCP 2379/2380); their data and certificates live in a temporary
# directory. Every process it starts is stopped by its PID on exit, and the
# directory is removed.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-bench-results}
RECORDS=${RECORDS:-100000}
THREADS=${THREADS:-32}
DURATION=${DURATION:-40s}
WORKLOADS=${WORKLOADS:-"a b c f"}
VALUE_SIZE=${VALUE_SIZE:-}   # empty: YCSB's record, 10 fields of 100 B (1,000 B)
SWEEP=${SWEEP:-1}
SWEEP_WORKLOAD=${SWEEP_WORKLOAD:-a}
SWEEP_START=${SWEEP_START:-500}
SWEEP_STEP=${SWEEP_STEP:-500}
SWEEP_STEPS=${SWEEP_STEPS:-12}
SWEEP_STEP_TIME=${SWEEP_STEP_TIME:-10s}

die() { echo "compare.sh: $*" >&2; exit 1; }
for c in etcd etcdctl ss go; do command -v "$c" >/dev/null || die "needs $c (etcd: apt-get install etcd-server etcd-client)"; done
if ss -Hlun | grep -Eq '127\.0\.0\.2[123]:7070 ' || ss -Hltn | grep -Eq '127\.0\.0\.1[123]:23(79|80) '; then
  die "an address it needs is in use (127.0.0.21-23:7070/udp or 127.0.0.11-13:2379-2380/tcp)"
fi

tmp=$(mktemp -d /tmp/shoal-compare.XXXXXX)
pids=()
shoal_pids=()
etcd_pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log "$OUT"/cpu.tsv

echo "== build"
go build -o "$tmp/bin/" ./cmd/shoal-bench ./cmd/storaged ./cmd/shoal
(cd bench/etcdbench && go build -o "$tmp/bin/etcdbench" .)

# etcd members dial their peers from 127.0.0.1 and, with peer client-cert
# auth, check the dialer's certificate against that source address: their
# certificates name 127.0.0.1 too.
certs=$tmp/certs
"$tmp/bin/shoal" certs --dir "$certs" --client bench \
  --node n1=127.0.0.21 --node n2=127.0.0.22 --node n3=127.0.0.23 \
  --node e1=127.0.0.11+127.0.0.1 --node e2=127.0.0.12+127.0.0.1 --node e3=127.0.0.13+127.0.0.1 >/dev/null

echo "== start 3 storaged (fsync on)"
shoal_cluster=n1=127.0.0.21:7070,n2=127.0.0.22:7070,n3=127.0.0.23:7070
for i in 1 2 3; do
  "$tmp/bin/storaged" --id "n$i" --data-dir "$tmp/shoal/n$i" --certs-dir "$certs" \
    --initial-cluster "$shoal_cluster" --log-level warn >"$tmp/storaged-n$i.log" 2>&1 &
  pids+=($!); shoal_pids+=($!)
done

echo "== start 3 etcd members ($(etcd --version | head -1))"
etcd_cluster=e1=https://127.0.0.11:2380,e2=https://127.0.0.12:2380,e3=https://127.0.0.13:2380
for i in 1 2 3; do
  ip=127.0.0.1$i
  etcd --name "e$i" --data-dir "$tmp/etcd/e$i" \
    --listen-client-urls "https://$ip:2379" --advertise-client-urls "https://$ip:2379" \
    --listen-peer-urls "https://$ip:2380" --initial-advertise-peer-urls "https://$ip:2380" \
    --initial-cluster "$etcd_cluster" --initial-cluster-state new --initial-cluster-token shoal-compare \
    --cert-file "$certs/node-e$i.crt" --key-file "$certs/node-e$i.key" --trusted-ca-file "$certs/ca.crt" --client-cert-auth \
    --peer-cert-file "$certs/node-e$i.crt" --peer-key-file "$certs/node-e$i.key" --peer-trusted-ca-file "$certs/ca.crt" --peer-client-cert-auth \
    --quota-backend-bytes $((8 << 30)) --logger zap --log-level warn >"$tmp/etcd-e$i.log" 2>&1 &
  pids+=($!); etcd_pids+=($!)
done

shoal_tls=(--ca "$certs/ca.crt" --cert "$certs/client-bench.crt" --key "$certs/client-bench.key")
etcd_endpoints=https://127.0.0.11:2379,https://127.0.0.12:2379,https://127.0.0.13:2379
etcd_tls=(--cacert "$certs/ca.crt" --cert "$certs/client-bench.crt" --key "$certs/client-bench.key")
for _ in $(seq 60); do
  "$tmp/bin/shoal" status --seeds "${shoal_cluster//n?=/}" "${shoal_tls[@]}" --cluster-id shoal --timeout 2s >/dev/null 2>&1 && s_ok=1 || s_ok=
  ETCDCTL_API=3 etcdctl --endpoints "$etcd_endpoints" "${etcd_tls[@]}" --dial-timeout 1s --command-timeout 2s endpoint health >/dev/null 2>&1 && e_ok=1 || e_ok=
  [ -n "$s_ok" ] && [ -n "$e_ok" ] && break
  sleep 0.5
done
[ -n "$s_ok" ] || { tail -5 "$tmp"/storaged-*.log; die "storaged did not come up"; }
[ -n "$e_ok" ] || { tail -5 "$tmp"/etcd-*.log; die "etcd did not come up"; }

shoal_bench=("$tmp/bin/shoal-bench" --seeds "${shoal_cluster//n?=/}" "${shoal_tls[@]}" --cluster-id shoal)
etcd_bench=("$tmp/bin/etcdbench" --endpoints "$etcd_endpoints" "${etcd_tls[@]}")
common=(--recordcount "$RECORDS" --threads "$THREADS" --status-interval 10s)
[ -n "$VALUE_SIZE" ] && common+=(--value-size "$VALUE_SIZE")

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "cores: $(nproc); memory: $(free -g | awk '/^Mem:/{print $2}') GiB; kernel: $(uname -r)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$(go version); $(etcd --version | head -1)"
  echo "records: $RECORDS; threads: $THREADS; run length: $DURATION; value size: ${VALUE_SIZE:-1000 (10 x 100 B)}"
} >"$OUT/machine.txt"

# cpu_seconds PID...: user+system CPU the processes have used so far.
tck=$(getconf CLK_TCK)
cpu_seconds() {
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  awk -v t="$t" -v h="$tck" 'BEGIN{printf "%.1f", t / h}'
}
printf 'run\tshoal_servers_cpu_s\tetcd_servers_cpu_s\twall_s\n' >"$OUT/cpu.tsv"

# bench NAME CMD...: runs one benchmark command, saving its summary and
# log, and the servers' CPU use over it.
bench() {
  local name=$1; shift
  local s0 e0 t0 s1 e1 t1
  s0=$(cpu_seconds "${shoal_pids[@]}"); e0=$(cpu_seconds "${etcd_pids[@]}"); t0=$(date +%s.%N)
  echo "== $name"
  local rc=0
  "$@" 2>"$OUT/$name.log" || rc=$?
  if [ "$rc" = 130 ]; then
    # Ctrl-C or SIGTERM: the command printed the summary of what ran, but
    # a cut-short run is not a result; stop the comparison here.
    echo "compare.sh: $name was interrupted (exit 130); its summary covers only what ran" >&2
    exit 130
  fi
  [ "$rc" = 0 ] || { tail -20 "$OUT/$name.log"; die "$name failed (exit $rc)"; }
  s1=$(cpu_seconds "${shoal_pids[@]}"); e1=$(cpu_seconds "${etcd_pids[@]}"); t1=$(date +%s.%N)
  awk -v n="$name" -v s="$s0" -v S="$s1" -v e="$e0" -v E="$e1" -v t="$t0" -v T="$t1" \
    'BEGIN{printf "%s\t%.1f\t%.1f\t%.1f\n", n, S-s, E-e, T-t}' >>"$OUT/cpu.tsv"
  grep -E 'Throughput|this process used' "$OUT/$name.log" || true
}

bench shoal-load "${shoal_bench[@]}" "${common[@]}" --phase load --format json --out "$OUT/shoal-load.json"
bench etcd-load "${etcd_bench[@]}" "${common[@]}" --phase load --format json --out "$OUT/etcd-load.json"
for w in $WORKLOADS; do
  bench "shoal-$w" "${shoal_bench[@]}" "${common[@]}" --phase run --workload "$w" --duration "$DURATION" --format json --out "$OUT/shoal-$w.json"
  bench "etcd-$w" "${etcd_bench[@]}" "${common[@]}" --phase run --workload "$w" --duration "$DURATION" --format json --out "$OUT/etcd-$w.json"
done

if [ "$SWEEP" = 1 ]; then
  sweep=(--phase run --workload "$SWEEP_WORKLOAD" --sweep --sweep-start "$SWEEP_START" --sweep-step "$SWEEP_STEP"
    --sweep-steps "$SWEEP_STEPS" --sweep-step-time "$SWEEP_STEP_TIME")
  bench shoal-sweep "${shoal_bench[@]}" "${common[@]}" "${sweep[@]}" --label "Shoal (N=3 R=2 W=2)" --out "$OUT/sweep-shoal.csv"
  bench etcd-sweep "${etcd_bench[@]}" "${common[@]}" "${sweep[@]}" --label "etcd 3 members" --out "$OUT/sweep-etcd.csv"
  "$tmp/bin/shoal-bench" chart --out "$OUT/sweep.svg" \
    --title "YCSB workload ${SWEEP_WORKLOAD^^}, $RECORDS records, open loop, $THREADS in flight at most, $(nproc) cores shared" \
    "$OUT/sweep-shoal.csv" "$OUT/sweep-etcd.csv"
fi

tables=()
for w in load $WORKLOADS; do tables+=("$OUT/shoal-$w.json" "$OUT/etcd-$w.json"); done
"$tmp/bin/shoal-bench" table "${tables[@]}" >"$OUT/table.md"
echo "== results in $OUT"
cat "$OUT/machine.txt" "$OUT/table.md"
column -t "$OUT/cpu.tsv"
