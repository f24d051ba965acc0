#!/usr/bin/python3
"""Writes tests/data/peer_flowpics.json: FlowPics of two peers' code, restated in numpy, that
tests/kernels/test_peer_variants.cpp compares with flowpic's representation options pixel for pixel.

usage: /usr/bin/python3 scripts/make_peer_flowpic_references.py [--sample DIR]   (Debian python3-numpy)

Run by hand when the restatements or the cases change; the output is committed.

- tcbench's get_flowpic (Finamore et al., IMC 2023, tcbench/libtcdatasets augmentations module):
      indexes = np.where(timetofirst < max_block_duration)[0]
      timetofirst = timetofirst[indexes]
      pkts_size = np.clip(pkts_size[indexes], a_min=0, a_max=1500)
      timetofirst_norm = (timetofirst / max_block_duration) * dim
      pkts_size_norm = (pkts_size / 1500) * dim
      mtx, _, _ = np.histogram2d(x=pkts_size_norm, y=timetofirst_norm, bins=(range(dim + 1), range(dim + 1)))
      mtx = np.clip(mtx, a_min=0, a_max=255).astype("uint8")
  on both directions of a flow together; flowpic: configs/representations/tcbench_flowpic_32.json
  (at other resolutions and block lengths through "resolution" and "block_s").
- The FlowPic authors' block loop over one unidirectional flow (times from its first packet):
      for t in range(int(ts[-1] / 60 - 60 / 60) + 1):
          mask = (ts >= t * 60) & (ts <= t * 60 + 60)
          tm, sm = ts[mask], sizes[mask]
          if len(tm) > 10 and tm[-1] - tm[0] > 50:
              t_norm = ((tm - tm[0]) / (tm[-1] - tm[0])) * 1500
              H, _, _ = np.histogram2d(sm, t_norm, bins=(range(0, 1501), range(0, 1501)))
  packets over 1500 bytes stay in ts and sizes (histogram2d ignores them); flowpic:
  configs/representations/flowpic_authors_code.json.

Cases: generated flows with the edges that matter (sizes 0, 27, 49, 1499, 1500, 1501, 65535;
times at, just below and just above the block end; blocks of 10 and 11 packets and spans of 50 s
where oversize packets decide), random flows, and, with --sample, the real UC Davis flows of
../shared/data/ucdavis-icdm19-sample (their expected pixels only; the flows stay there).
Images are stored as their non-zero cells [row, column, count] (count before any clipping).
"""
import argparse
import json
import os
import sys

import numpy as np

MTU = 1500


def tcbench_flowpic(timetofirst, pkts_size, dim, max_block_duration):
    indexes = np.where(timetofirst < max_block_duration)[0]
    timetofirst = timetofirst[indexes]
    pkts_size = np.clip(pkts_size[indexes], a_min=0, a_max=MTU)
    timetofirst_norm = (timetofirst / max_block_duration) * dim
    pkts_size_norm = (pkts_size / MTU) * dim
    bins = range(dim + 1)
    mtx, _, _ = np.histogram2d(x=pkts_size_norm, y=timetofirst_norm, bins=(bins, bins))
    return mtx  # counts; tcbench then clips at 255


def authors_blocks(ts, sizes, block=60.0):
    out = []
    for t in range(int(ts[-1] / block - block / block) + 1):
        mask = (ts >= t * block) & (ts <= t * block + block)
        tm, sm = ts[mask], sizes[mask]
        if len(tm) > 10 and tm[-1] - tm[0] > 50:
            t_norm = ((tm - tm[0]) / (tm[-1] - tm[0])) * MTU
            H, _, _ = np.histogram2d(sm, t_norm, bins=(range(0, MTU + 1), range(0, MTU + 1)))
            out.append((t, H))
    return out


def cells(h):
    r, c = np.nonzero(h)
    return [[int(a), int(b), int(h[a, b])] for a, b in zip(r, c)]


def tcbench_edge_flow():
    # Sizes that differ between the exact and the scaled size rule at R = 1500, the ends of the
    # size axis and oversize packets (clipped); times at the 15 s end (excluded), just below it,
    # on interior edges, and several packets in one cell.
    sizes = [0, 27, 49, 54, 61, 98, 1499, 1500, 1501, 2000, 65535, 300, 300, 300, 46, 47, 1453, 1454, 700, 800]
    times = [0.0, 0.1, 0.46875, 0.9375, 1.0, 7.5, 14.999999999, 15.0, 15.000001, 3.0, 4.0, 5.0, 5.0, 5.0,
             0.2, 0.3, 11.25, 14.53125, 16.0, 30.0]
    order = np.argsort(np.array(times), kind="stable")
    t = np.array(times)[order]
    s = np.array(sizes)[order]
    d = np.array([i % 2 for i in range(len(t))])
    return t, s, d


def random_flow(rng, n, gap, oversize_share=0.03):
    t = np.cumsum(rng.exponential(gap, n))
    t -= t[0]
    s = rng.integers(40, 1501, n)
    over = rng.random(n) < oversize_share
    s[over] = rng.integers(1501, 9000, over.sum())
    s[rng.random(n) < 0.03] = 1500
    d = (rng.random(n) < 0.4).astype(int)
    return t, s, d


def authors_edge_flows():
    flows = []
    # 11 packets in block 0 of which 1 oversize, span 55 s: kept by the authors (count rule).
    t = np.array([0, 5, 10, 15, 20, 25, 30, 35, 40, 50, 55.0])
    s = np.array([100, 200, 300, 1600, 500, 600, 700, 800, 900, 1000, 1500])
    flows.append(("eleven_with_one_oversize_55s", t, s))
    # Span decided by an oversize last packet: 0..49 s of normal packets, one oversize at 51 s.
    t = np.concatenate([np.linspace(0, 49, 20), [51.0]])
    s = np.concatenate([np.full(20, 400), [3000]])
    flows.append(("span_by_oversize", t, s))
    # A flow of 52 s: one (incomplete) block 0 in the authors' loop.
    t = np.linspace(0, 52, 40)
    s = (np.arange(40) * 37) % 1500 + 1
    flows.append(("short_52s", t, s))
    # Exactly 60 s and exactly 120 s: block end packets belong to both blocks (closed ends).
    t = np.linspace(0, 120, 61)
    s = np.full(61, 1500)
    flows.append(("closed_ends_120s", t, s))
    # 185 s: blocks 0, 1, 2 (block 3 is incomplete and not enumerated).
    rng = np.random.default_rng(7)
    t, s, _ = random_flow(rng, 900, 0.2, 0.05)
    t = t / t[-1] * 185.0
    flows.append(("random_185s", t, s))
    return flows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--sample", default=os.path.join(here, "..", "..", "shared", "data", "ucdavis-icdm19-sample"))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "data", "peer_flowpics.json"))
    a = ap.parse_args()

    rng = np.random.default_rng(20261201)
    tcb = []
    t, s, d = tcbench_edge_flow()
    for dim in (32, 64, 1500):
        tcb.append({"name": "edges_r%d" % dim, "resolution": dim, "block_s": 15.0, "time": t.tolist(),
                    "size": s.tolist(), "direction": d.tolist(), "cells": cells(tcbench_flowpic(t, s, dim, 15))})
    for i in range(4):
        t, s, d = random_flow(rng, 3000, 0.01 * (i + 1))
        dim, T = [(32, 15.0), (64, 15.0), (1500, 15.0), (32, 30.0)][i]
        tcb.append({"name": "random_%d_r%d_t%g" % (i, dim, T), "resolution": dim, "block_s": T, "time": t.tolist(),
                    "size": s.tolist(), "direction": d.tolist(), "cells": cells(tcbench_flowpic(t, s, dim, T))})
    # Many packets in one cell (more than 255: tcbench clips them).
    t = np.linspace(0, 1, 400)
    s = np.full(400, 1200)
    tcb.append({"name": "saturated_r32", "resolution": 32, "block_s": 15.0, "time": t.tolist(), "size": s.tolist(),
                "direction": [0] * 400, "cells": cells(tcbench_flowpic(t, s, 32, 15))})

    real = []
    if os.path.isdir(a.sample):
        for cls in sorted(os.listdir(a.sample)):
            folder = os.path.join(a.sample, cls)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                data = np.loadtxt(os.path.join(folder, name), ndmin=2)
                t, s = data[:, 1], data[:, 2]
                for dim in (32, 64, 1500):
                    real.append({"file": name, "resolution": dim, "block_s": 15.0,
                                 "cells": cells(tcbench_flowpic(t, s, dim, 15))})
    else:
        print("no %s: the real sample flows are left out" % a.sample, file=sys.stderr)

    authors = []
    for name, t, s in authors_edge_flows():
        blocks = authors_blocks(t, s)
        authors.append({"name": name, "time": t.tolist(), "size": [int(x) for x in s],
                        "blocks": [{"block": k, "cells": cells(h)} for k, h in blocks]})

    out = {"generator": "scripts/make_peer_flowpic_references.py", "numpy": np.__version__,
           "tcbench": tcb, "tcbench_ucdavis_sample": real, "authors": authors}
    with open(a.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %s: %d tcbench cases, %d real-flow images, %d authors' flows (%d blocks)"
          % (a.out, len(tcb), len(real), len(authors), sum(len(x["blocks"]) for x in authors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
