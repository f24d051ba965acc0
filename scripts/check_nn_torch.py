#!/usr/bin/python3
"""Cross-checks the engine against PyTorch: loads a weights file written by
`bench_nn_train --dump PREFIX` into the PyTorch twin of its architecture (the same builder as
scripts/bench_nn_torch.py; the loading follows docs/weights.md) and compares the class
probabilities on the dumped input. Exercises the conventions: Keras "same" padding, OIHW kernels,
[out, in] dense kernels, (C, H, W) flatten order.

  build/cpu/bench/bench_nn_train --model configs/models/flowpic_paper.json --input 1x150x150 \
      --batch 4 --iters 2 --dump /tmp/paper
  /usr/bin/python3 scripts/check_nn_torch.py /tmp/paper
"""
import importlib.util
import json
import os
import sys

import h5py
import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench_nn_torch", os.path.join(here, "bench_nn_torch.py"))
twin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(twin)

prefix = sys.argv[1]
with h5py.File(prefix + ".weights.h5", "r") as f:
    arch = json.loads(f.attrs["architecture"])
    chw = (int(f.attrs["input_c"]), int(f.attrs["input_h"]), int(f.attrs["input_w"]))
    classes = int(f.attrs["classes"])
    net = twin.build(arch, chw, classes)
    layers = [m for m in net if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    groups = sorted(g for g in f["weights"] if g.split("_", 1)[1] in ("conv2d", "dense"))
    assert len(groups) == len(layers), (groups, layers)
    with torch.no_grad():
        for m, g in zip(layers, groups):
            m.weight.copy_(torch.from_numpy(f["weights"][g]["kernel"][()]))
            if m.bias is not None:
                m.bias.copy_(torch.from_numpy(f["weights"][g]["bias"][()]))
with h5py.File(prefix + ".outputs.h5", "r") as f:
    x = torch.from_numpy(f["input"][()])
    ours = f["probabilities"][()]
net.eval()
with torch.no_grad():
    theirs = torch.softmax(net(x), dim=1).numpy()
diff = np.abs(ours - theirs).max()
print(f"{prefix}: {ours.shape[0]} samples x {ours.shape[1]} classes, max |p_flowpic - p_torch| = {diff:.2e}")
sys.exit(0 if diff < 1e-4 else 1)
