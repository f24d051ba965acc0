#!/usr/bin/env bash
# Streaming classify benchmark (issue 17): a trained 32x32 model applied to the ingestion
# benchmark's ~1 GB capture, end to end (read, decode, flows, windows, CNN, CSV), against
# `flowpic_data ingest` alone on the same file. Makes what is missing under BENCH_DIR:
#   - the capture: bench_ingest FILE --bytes 1e9 --concurrent 2000 --seed 1 (as scripts/bench_ingest.sh);
#   - the model: run_experiment configs/quickstart.json (LeNet-5, 32x32 mini-FlowPics of 15 s blocks),
#     or MODEL=path/to/result.h5.
# Then RUNS (default 3) runs of each; prints every run and the medians of wall s, CPU s, packets/s
# and peak RSS (from /usr/bin/time), and the load average. With REFERENCE=earlier.csv it also counts
# the rows that differ from it (probabilities in the last printed digit, from float sums in another
# order; any other difference fails). The last line: classify: X.XX M packets/s (ingest alone Y.YY M).
#   usage: scripts/bench_classify.sh [classify options...]   (default --device cpu --batch 1024)
#   env:   BENCH_DIR=/tmp/flowpic-bench RUNS=3 MODEL=... REFERENCE=...
set -euo pipefail
cd "$(dirname "$0")/.."
work="${BENCH_DIR:-/tmp/flowpic-bench}"
runs="${RUNS:-3}"
opts=("$@")
[[ ${#opts[@]} -gt 0 ]] || opts=(--device cpu --batch 1024)
mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { echo "bench_classify: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

dir=$(bash scripts/build.sh cpu classify flowpic_data bench_ingest run_experiment | tail -n 1)
cap="$work/bench.pcap"
if [[ ! -s "$cap" ]]; then
  echo "== generating $cap"
  "$dir/bench/bench_ingest" "$cap" --bytes 1e9 --concurrent 2000 --seed 1
fi
model="${MODEL:-$work/quickstart-model/quickstart/seed1.h5}"
if [[ ! -s "$model" ]]; then
  echo "== training $model (configs/quickstart.json)"
  "$dir/apps/run_experiment" configs/quickstart.json --set "output=$work/quickstart-model" >"$work/train.log" 2>&1 \
    || { echo "bench_classify: training failed:" >&2; tail -n 20 "$work/train.log" >&2; exit 1; }
fi
# The capture's packets (pcap record headers), counted once.
if [[ ! -s "$cap.packets" || "$cap.packets" -ot "$cap" ]]; then
  /usr/bin/python3 - "$cap" >"$cap.packets" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb")
magic = f.read(24)[:4]
endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
n = 0
while True:
    h = f.read(16)
    if len(h) < 16:
        break
    f.seek(struct.unpack(endian + "IIII", h)[2], 1)
    n += 1
print(n)
PY
fi
packets=$(cat "$cap.packets")
echo "== $cap: $packets packets; model $model; classify ${opts[*]}; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME CMD... : one timed run, appends "NAME wall_s maxrss_kb user_s sys_s" to $work/classify.times
run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/t.one" "$@" >"$work/$name.out" 2>"$work/$name.err" \
    || { echo "bench_classify: $name failed:" >&2; tail -n 20 "$work/$name.err" >&2; exit 1; }
  echo "$name $(cat "$work/t.one")" >>"$work/classify.times"
  awk -v n="$name" -v p="$packets" \
    '{printf "   %s: %.2f s wall, %.2f s CPU, %.2f M packets/s, peak RSS %.0f MB\n", n, $1, $3 + $4, p / $1 / 1e6, $2 / 1024}' \
    "$work/t.one"
}
: >"$work/classify.times"
for i in $(seq 1 "$runs"); do
  echo "== run $i of $runs (load $(cut -d' ' -f1 /proc/loadavg))"
  run ingest "$dir/apps/flowpic_data" ingest "$cap" --out "$work/classify-bench.h5" --quiet
  run classify "$dir/apps/classify" "$model" "$cap" "${opts[@]}"
done
rm -f "$work/classify-bench.h5"
grep -m1 " windows from " "$work/classify.err" || true
if [[ -n "${REFERENCE:-}" ]]; then
  /usr/bin/python3 - "$REFERENCE" "$work/classify.out" <<'PY'
import sys
a = open(sys.argv[1]).read().split("\n")
b = open(sys.argv[2]).read().split("\n")
if len(a) != len(b):
    sys.exit("bench_classify: %d rows, the reference has %d" % (len(b) - 2, len(a) - 2))
diff, worst = 0, 0.0
for x, y in zip(a, b):
    if x == y:
        continue
    xs, ys = x.split(","), y.split(",")
    if len(xs) != len(ys) or xs[:13] != ys[:13]:
        sys.exit("bench_classify: a row differs from the reference beyond its probabilities:\n  %s\n  %s" % (x, y))
    diff += 1
    worst = max(worst, max(abs(float(u) - float(v)) for u, v in zip(xs[13:], ys[13:])))
print("   output: %d rows; %d differ from the reference in probabilities only (largest difference %.1g)"
      % (len(a) - 2, diff, worst))
PY
fi
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$work/classify.times" "$packets" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, wall, rss, user, sys_ = line.split()
    runs.setdefault(name, []).append((float(wall), int(rss), float(user) + float(sys_)))
packets = int(sys.argv[2])
med = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
for k, v in runs.items():
    print("   median %s: %.2f s wall, %.2f s CPU, %.2f M packets/s, peak RSS %.0f MB (largest)"
          % (k, med[k], statistics.median(r[2] for r in v), packets / med[k] / 1e6, max(r[1] for r in v) / 1024))
print("classify: %.2f M packets/s (ingest alone %.2f M)" % (packets / med["classify"] / 1e6, packets / med["ingest"] / 1e6))
PY
