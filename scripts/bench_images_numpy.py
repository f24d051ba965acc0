#!/usr/bin/python3
"""The FlowPic authors' computation (numpy.histogram2d) timed on the windows bench_images wrote.

usage: bench_images_numpy.py DIR [--runs N]

For each DIR/windows_R<R>_P<P>.bin (header: R, P, windows, duration, max_size as int64; then the
times as float64 and the sizes as uint32), builds one R x R image per window exactly as the
authors' code does at R = 1500:
    ts_norm = ((ts - t0) / duration) * R
    H = numpy.histogram2d(sizes, ts_norm, bins=(range(0, 1501), range(0, 1501)))[0]
generalised to R < 1500 with size edges k * 1500 / R (docs/representations.md), into a float32
batch, and prints windows/s (median of N runs). It also checks that its first images equal the
ones bench_images built (DIR/images_R<R>_P<P>.bin).
"""
import glob
import os
import re
import sys
import time

import numpy as np


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    folder = args[0]
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 3
    print("# numpy %s, numpy.histogram2d per window, median of %d runs" % (np.__version__, runs))
    print("| R | packets/window | builder | windows/run | windows/s | ms/window | equal to bench_images |")
    print("|---|---|---|---|---|---|---|")
    files = sorted(glob.glob(os.path.join(folder, "windows_R*_P*.bin")),
                   key=lambda p: [-int(x) for x in re.findall(r"\d+", os.path.basename(p))])
    for path in files:
        raw = open(path, "rb").read()
        R, P, n, duration, max_size = np.frombuffer(raw[:40], dtype=np.int64)
        times = np.frombuffer(raw[40:40 + 8 * n * P], dtype=np.float64).reshape(n, P)
        sizes = np.frombuffer(raw[40 + 8 * n * P:40 + 12 * n * P], dtype=np.uint32).reshape(n, P)
        if R == max_size:
            size_edges = range(0, int(max_size) + 1)  # the authors' bins at R = 1500
        else:
            size_edges = np.arange(R + 1) * (float(max_size) / R)
        time_edges = range(0, int(R) + 1)
        out = np.empty((n, 1, R, R), dtype=np.float32)
        secs = []
        for _ in range(runs):
            t0 = time.perf_counter()
            for i in range(n):
                ts = times[i]
                ts_norm = ((ts - 0.0) / duration) * R
                H, _, _ = np.histogram2d(sizes[i], ts_norm, bins=(size_edges, time_edges))
                out[i, 0] = H
            secs.append(time.perf_counter() - t0)
        s = sorted(secs)[len(secs) // 2]
        ours_path = path.replace("windows_", "images_")
        ours = np.fromfile(ours_path, dtype=np.float32)
        k = ours.size // (R * R)
        equal = np.array_equal(ours.reshape(k, 1, R, R), out[:k])
        print("| %d | %d | numpy.histogram2d, 1 thread | %d | %.0f | %.4f | %s (%d images) |"
              % (R, P, n, n / s, 1e3 * s / n, "yes" if equal else "NO", k))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
