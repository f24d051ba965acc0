#!/usr/bin/python3
"""PyTorch twin of bench/nn_train.cpp: the same model JSON (configs/models/*.json) built as a
torch.nn.Sequential, the same input, batch, optimizer (Adam, Keras defaults: lr 1e-3, eps 1e-7)
and the same timing (forward + cross-entropy + backward + step per iteration, median).

  /usr/bin/python3 scripts/bench_nn_torch.py --model configs/models/flowpic_paper.json \
      --input 1x1500x1500 --batch 32 --iters 3 --warmup 1 --threads 2 [--device cuda] [--images FILE]

--images trains on a prebuilt batch (bench_sparse --dump-images: real windows' FlowPics, dense; the
images are not built inside the timed step, PyTorch gets them for free).

Prints a final JSON line like the C++ program. Needs python3-torch (scripts/setup.sh --bench);
never used by the tests.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def pair(v, default):
    if v is None:
        return default
    return (v, v) if isinstance(v, int) else tuple(v)


class SamePad(nn.Module):
    """Keras "same": pad_total = max((ceil(in/s)-1)*s + k - in, 0), floor(total/2) before."""

    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        pads = []
        for dim, k, s in ((x.shape[3], self.k[1], self.s[1]), (x.shape[2], self.k[0], self.s[0])):
            out = -(-dim // s)
            total = max((out - 1) * s + k - dim, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)


def build(model_json, input_chw, classes):
    layers = []
    c, h, w = input_chw
    probe = torch.zeros(1, c, h, w)
    for spec in model_json["layers"]:
        t = spec["type"]
        if t == "conv2d":
            k, s = pair(spec["kernel_size"], None), pair(spec.get("strides"), (1, 1))
            pad = spec.get("padding", "valid")
            if pad == "same":
                layers.append(SamePad(k, s))
            elif isinstance(pad, list):
                layers.append(nn.ZeroPad2d((pad[2], pad[3], pad[0], pad[1])))
            layers.append(nn.Conv2d(probe.shape[1], spec["filters"], k, s, bias=spec.get("use_bias", True)))
        elif t == "max_pool2d":
            k = pair(spec.get("pool_size"), (2, 2))
            layers.append(nn.MaxPool2d(k, pair(spec.get("strides"), k)))
        elif t == "relu":
            layers.append(nn.ReLU())
        elif t == "dropout":
            layers.append(nn.Dropout(spec["rate"]))
        elif t == "flatten":
            layers.append(nn.Flatten())
        elif t == "dense":
            units = classes if spec["units"] == "classes" else spec["units"]
            if probe.dim() > 2:
                layers.append(nn.Flatten())
            layers.append(nn.Linear(probe.flatten(1).shape[1], units, bias=spec.get("use_bias", True)))
        elif t == "batch_norm2d":
            layers.append(nn.BatchNorm2d(probe.shape[1], eps=spec.get("epsilon", 1e-3),
                                         momentum=1 - spec.get("momentum", 0.99)))
        else:
            sys.exit(f"bench_nn_torch: unknown layer type {t}")
        with torch.no_grad():
            probe = nn.Sequential(*layers)(torch.zeros(1, c, h, w))
    for m in layers:  # Keras' initialisers, as in the C++ engine
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="configs/models/flowpic_paper.json")
    ap.add_argument("--input", default="1x1500x1500")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--images", help="a prebuilt batch (bench_sparse --dump-images: float32 N x C x H x W, "
                                     "then N int32 labels) instead of random images")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    chw = tuple(int(v) for v in a.input.split("x"))
    with open(a.model) as f:
        spec = json.load(f)
    dev = torch.device(a.device)
    model = build(spec, chw, a.classes).to(dev)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    g = torch.Generator().manual_seed(42)
    if a.images:
        import numpy as np
        raw = np.fromfile(a.images, dtype=np.uint8)
        n_img = a.batch * chw[0] * chw[1] * chw[2]
        if raw.size != n_img * 4 + a.batch * 4:
            sys.exit(f"bench_nn_torch: {a.images}: {raw.size} bytes, not a batch of {a.batch} x {a.input} and labels")
        x = torch.from_numpy(raw[:n_img * 4].view(np.float32).reshape(a.batch, *chw).copy()).to(dev)
        y = torch.from_numpy(raw[n_img * 4:].view(np.int32).astype(np.int64)).to(dev)
    else:
        x = torch.rand(a.batch, *chw, generator=g)
        x = torch.where(torch.rand(x.shape, generator=g) < 1 / 16, x, torch.zeros_like(x)).to(dev)
        y = torch.randint(0, a.classes, (a.batch,), generator=g).to(dev)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return loss.item()

    for _ in range(a.warmup):
        step()
    secs, cpu_secs = [], []  # wall time, and process CPU time (all threads)
    for i in range(a.iters):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = step()
        s = time.perf_counter() - t0
        secs.append(s)
        cpu_secs.append(time.process_time() - c0)
        print(f"  iter {i}: {s * 1e3:.1f} ms, {a.batch / s:.1f} images/s, loss {loss:.4f}", file=sys.stderr)
    med = statistics.median_low(secs)
    print(json.dumps({"engine": "pytorch " + torch.__version__, "device": a.device, "model": a.model,
                      "input": a.input, "batch": a.batch, "iters": a.iters, "median_ms": round(med * 1e3, 3),
                      "median_cpu_ms": round(statistics.median_low(cpu_secs) * 1e3, 3),
                      "images_per_s": round(a.batch / med, 2), "threads": torch.get_num_threads(),
                      "mkldnn": torch.backends.mkldnn.is_available()}))


if __name__ == "__main__":
    main()
