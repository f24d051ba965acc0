#!/usr/bin/python3
"""Checks `flowpic_data images` against the FlowPic authors' own pipeline, image by image.

usage: check_images_vs_authors.py SESSIONS.csv IMAGES.h5

SESSIONS.csv is an authors'-format CSV imported with `flowpic_data import-csv` (store flows in
CSV row order); IMAGES.h5 was made from that store with a config such as
{"type": "flowpic", "time_axis": "span"} or configs/representations/flowpic_authors_code.json (R = 1500,
60 s blocks, closed block ends, raw counts; "oversize" drop, clip or count is followed).
For every image whose block the authors' loop enumerates (block 0 and complete blocks), this
recomputes their histogram:
    mask = (ts >= t*60) & (ts <= t*60 + 60)
    ts_norm = ((ts[mask] - ts[mask][0]) / span) * 1500     # span, or 60 for "fixed"
    H = numpy.histogram2d(sizes[mask], ts_norm, bins=(range(0, 1501), range(0, 1501)))
and reports how many are equal. ("fixed" here anchors at the block start, as flowpic does.)
"""
import json
import sys

import h5py
import numpy as np


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    rows = [line.rstrip("\n").split(",") for line in open(sys.argv[1])]
    f = h5py.File(sys.argv[2], "r")
    cfg = json.loads(f.attrs["representation"])
    if cfg["type"] != "flowpic" or cfg["resolution"] != 1500 or cfg["transform"] != "raw" or cfg["block_end"] != "closed":
        print("needs a raw-count R = 1500 FlowPic file with closed block ends; got", cfg)
        return 2
    T, stride = cfg["block_s"], cfg["stride_s"]
    images, flows, blocks = f["/images"], f["/samples/flow"][:], f["/samples/index"][:]
    checked = equal = skipped = 0
    for i in range(len(flows)):
        row = rows[flows[i]]
        n = int(float(row[7]))
        ts = np.array(row[8:8 + n], dtype=float)
        sizes = np.array(row[9 + n:9 + 2 * n], dtype=float)
        oversize = cfg.get("oversize", "drop")
        if oversize == "drop":  # removed before anything else (flowpic's default)
            keep = sizes <= cfg["max_size"]
            ts, sizes = ts[keep], sizes[keep]
        elif oversize == "clip":
            sizes = np.minimum(sizes, cfg["max_size"])
        # "count" (the authors' code exactly): they stay in ts; histogram2d ignores them
        ts = ts - ts[0]
        t = int(blocks[i])
        if t >= int(ts[-1] / stride - T / stride) + 1:
            skipped += 1
            continue
        mask = (ts >= t * stride) & (ts <= t * stride + T)
        tm, sm = ts[mask], sizes[mask]
        if cfg["time_axis"] == "span":
            tn = ((tm - tm[0]) / (tm[-1] - tm[0])) * 1500
        else:
            tn = ((tm - t * stride) / T) * 1500
        H, _, _ = np.histogram2d(sm, tn, bins=(range(0, 1501), range(0, 1501)))
        checked += 1
        equal += int(np.array_equal(H, images[i, 0].astype(np.float64)))
    print("%d images checked, %d equal to the authors' histogram2d; %d blocks the authors' loop does not enumerate"
          % (checked, equal, skipped))
    return 0 if checked == equal else 1


if __name__ == "__main__":
    sys.exit(main())
