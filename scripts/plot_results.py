#!/usr/bin/python3
"""Learning curves and confusion matrices of run_experiment result files, as PNG.

usage: scripts/plot_results.py RESULT.h5 [RESULT.h5 | FOLDER ...] [--out DIR]

For each result file (a folder stands for every *.h5 under it) writes
  DIR/<experiment>_<run>_curves.png            training and selection-set loss and accuracy per epoch
  DIR/<experiment>_<run>_confusion_<group>.png one per evaluation group (test, held_out, cross:<encap>)
DIR defaults to the folder of each result file. Needs Debian's python3-matplotlib and python3-h5py
(not needed by the build or the tests). FlowPic images themselves are drawn by `flowpic_data render`.
"""
import argparse
import json
import os
import sys

try:
    import h5py
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
except ImportError as e:  # one line, what to do
    sys.exit(f"plot_results.py: {e}; install Debian's python3-matplotlib python3-h5py python3-numpy")


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def source_label(f):
    src = text(f.attrs["data_source"])
    sel = text(f.attrs["selection"])
    out = "SYNTHETIC data" if src == "synthetic" else f"data: {src}"
    if sel == "test_optimistic":
        out += ", optimistic selection (best epoch on test)"
    if int(f.attrs.get("interrupted", 0)):
        out += ", interrupted"
    return out


def safe(name):
    return "".join(c if c.isalnum() or c in "._-=" else "_" for c in name)


def plot_curves(f, title, path):
    h = f["history"]
    epoch = h["epoch"][()]
    best = int(f.attrs["best_epoch"])
    sel = "test (optimistic)" if text(f.attrs["selection"]) == "test_optimistic" else "validation"
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epoch, h["train_loss"][()], "o-", label="train")
    ax_loss.plot(epoch, h["val_loss"][()], "s-", label=sel)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_acc.plot(epoch, 100 * h["train_accuracy"][()], "o-", label="train")
    ax_acc.plot(epoch, 100 * h["val_accuracy"][()], "s-", label=sel)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    for ax in (ax_loss, ax_acc):
        if best > 0:
            ax.axvline(best, color="grey", linestyle=":", label=f"selected epoch {best}")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(f, group, classes, title, path):
    g = f["evaluation"][group]
    cm = g["confusion"][()].astype(np.int64)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    k = len(classes)
    size = max(4.5, 0.6 * k + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    acc = 100 * float(g.attrs["accuracy"])
    f1 = 100 * float(g.attrs["macro_f1"])
    ax.set_title(f"{title}\n{group}: accuracy {acc:.1f} %, macro F1 {f1:.1f} %", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_file(path, out_dir):
    with h5py.File(path, "r") as f:
        if text(f.attrs.get("format", "")) != "flowpic-result":
            raise ValueError(f"{path}: not a flowpic result file")
        exp, run = text(f.attrs["experiment"]), text(f.attrs["run"])
        classes = [text(c) for c in f["classes"][()]]
        title = f"{exp} / {run} ({source_label(f)})"
        d = out_dir or os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        stem = os.path.join(d, safe(f"{exp}_{run}"))
        written = [stem + "_curves.png"]
        plot_curves(f, title, written[0])
        for group in (text(g) for g in f["evaluation_groups"][()]):
            written.append(f"{stem}_confusion_{safe(group)}.png")
            plot_confusion(f, group, classes, title, written[-1])
        return written


def main():
    p = argparse.ArgumentParser(description="Plot run_experiment result files (learning curves, confusion matrices).")
    p.add_argument("results", nargs="+", help="result files, or folders holding them")
    p.add_argument("--out", help="folder for the PNG files (default: beside each result file)")
    a = p.parse_args()
    files = []
    for r in a.results:
        if os.path.isdir(r):
            for root, _, names in os.walk(r):
                files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".h5") and ".partial-" not in n]
        elif os.path.isfile(r):
            files.append(r)
        else:
            sys.exit(f"plot_results.py: {r}: no such file or folder")
    if not files:
        sys.exit("plot_results.py: no result files found")
    failed = 0
    for i, path in enumerate(sorted(files), 1):
        try:
            out = plot_file(path, a.out)
            print(f"[{i}/{len(files)}] {path}: wrote {len(out)} PNG ({os.path.basename(out[0])}, ...)", file=sys.stderr)
        except (OSError, KeyError, ValueError) as e:
            failed += 1
            print(f"plot_results.py: {path}: {e}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
