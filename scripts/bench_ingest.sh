#!/usr/bin/env bash
# Ingestion benchmark: makes a ~1 GB synthetic Ethernet capture (bench_ingest) with tens of
# thousands of flows, then times, on the same file, 3 runs each of
#   - tcpdump -r FILE -w /dev/null          (libpcap raw read + write, the floor)
#   - flowpic_data ingest FILE --out X.h5   (decode, flow assembly, HDF5 store)
#   - scripts/dpkt_flows.py FILE            (the authors' style: dpkt + a dict of flows)
# and writes the medians (wall and CPU time, MB/s, packets/s, peak RSS) to results/bench/ingest.md.
# CPU time (user + sys, all threads) is reported beside wall time because on a shared machine the
# wall time of a run depends on what else is running.
#   usage: scripts/bench_ingest.sh [BYTES]      (default 1e9; BENCH_DIR=/tmp/flowpic-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
bytes="${1:-1e9}"
work="${BENCH_DIR:-/tmp/flowpic-bench}"
mkdir -p "$work" results/bench
for tool in tcpdump /usr/bin/time /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "bench_ingest: $tool is missing (bash scripts/setup.sh --bench)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import dpkt' 2>/dev/null || { echo "bench_ingest: python3-dpkt is missing (bash scripts/setup.sh --bench)" >&2; exit 1; }

dir=$(bash scripts/build.sh cpu flowpic_data bench_ingest | tail -n 1)
cap="$work/bench.pcap"
echo "== generating $cap"
gen=$("$dir/bench/bench_ingest" "$cap" --bytes "$bytes" --concurrent 2000 --seed 1)
echo "$gen"

# run NAME CMD... : one timed run, appends "NAME wall_s maxrss_kb user_s sys_s" to $work/times
run() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/t.one" "$@" >"$work/$name.out" 2>"$work/$name.err" \
    || { echo "bench_ingest: $name failed:" >&2; cat "$work/$name.err" >&2; exit 1; }
  echo "$name $(cat "$work/t.one")" >>"$work/times"
  awk -v n="$name" '{printf "   %s: %.2f s wall, %.2f s CPU, peak RSS %.0f MB\n", n, $1, $3 + $4, $2/1024}' "$work/t.one"
}
: >"$work/times"
for i in 1 2 3; do
  echo "== run $i of 3"
  run tcpdump tcpdump -r "$cap" -w /dev/null
  run flowpic_data "$dir/apps/flowpic_data" ingest "$cap" --out "$work/bench.h5" --quiet
  run dpkt /usr/bin/python3 scripts/dpkt_flows.py "$cap"
done
"$dir/apps/flowpic_data" info "$work/bench.h5" | head -n 1 >"$work/info.txt"

/usr/bin/python3 - "$work" "$gen" "$bytes" <<'PY'
import os, platform, statistics, subprocess, sys, time
work, gen, target = sys.argv[1], sys.argv[2], sys.argv[3]
runs = {}
for line in open(os.path.join(work, "times")):
    name, wall, rss, user, sys_ = line.split()
    runs.setdefault(name, []).append((float(wall), int(rss), float(user) + float(sys_)))
size = os.path.getsize(os.path.join(work, "bench.pcap"))
packets = int(gen.split(" packets")[0].split()[-1])
med = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
cpu_s = {k: statistics.median(r[2] for r in v) for k, v in runs.items()}
rss = {k: max(r[1] for r in v) for k, v in runs.items()}
def row(k, label):
    w = med[k]
    return "| %s | %.2f | %.2f | %.0f | %.2f M | %.0f |" % (label, w, cpu_s[k], size / w / 1e6, packets / w / 1e6, rss[k] / 1024)
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
out = f"""# Ingestion benchmark

Command: `bash scripts/bench_ingest.sh {target}` (Release build; median of 3 runs of each tool on the same file;
peak RSS = the largest of the 3 runs, from `/usr/bin/time`; the capture is in the page cache, as it was just written).

Capture: {gen.split(': ', 1)[1]} (synthetic Ethernet pcap from `bench_ingest`:
TCP with handshake and FINs, UDP, 10% IPv6; {size/1e9:.2f} GB).
Machine: {cpu}, {os.cpu_count()} cores (shared with other work while measuring), {platform.platform()}.
Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.

| tool | wall s | CPU s | MB/s (wall) | packets/s (wall) | peak RSS MB |
|---|---|---|---|---|---|
{row('tcpdump', '`tcpdump -r FILE -w /dev/null` (raw read)')}
{row('flowpic_data', '`flowpic_data ingest FILE --out X.h5`')}
{row('dpkt', '`scripts/dpkt_flows.py FILE` (authors-style dpkt grouping)')}

- flowpic_data / tcpdump: {med['flowpic_data'] / med['tcpdump']:.2f}x the raw read wall time, {cpu_s['flowpic_data'] / cpu_s['tcpdump']:.2f}x its CPU time (goal: within 3x)
- dpkt / flowpic_data: {med['dpkt'] / med['flowpic_data']:.1f}x faster than dpkt (goal: at least 10x)
- flowpic_data peak memory: {rss['flowpic_data'] / 1024:.0f} MB (goal: under 1 GB)

Load average while measuring: {open('/proc/loadavg').read().split()[:3]} (1, 5, 15 min).
All runs (wall s, CPU s, peak RSS MB): {', '.join(k + ' ' + ' / '.join('%.2f, %.2f, %.0f' % (w, c, r / 1024) for w, r, c in v) for k, v in runs.items())}
"""
open("results/bench/ingest.md", "w").write(out)
print(out)
PY
