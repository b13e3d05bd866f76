"""Continual runs: a heatmap of the success matrix (mean over the runs given) and per-task success
curves over the whole stream, task boundaries marked.

    python scripts/plot_continual.py data/continual_sac/<run_s0> data/continual_sac/<run_s1> --out cl.png
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", default="continual.png")
    args = p.parse_args(argv)
    mats, progs = [], []
    for d in args.runs:
        sm, pr = os.path.join(d, "success_matrix.csv"), os.path.join(d, "progress.csv")
        if not (os.path.isfile(sm) and os.path.isfile(pr)):
            print(f"error: {d} has no success_matrix.csv / progress.csv (not a continual run?)", file=sys.stderr)
            return 2
        mats.append(pd.read_csv(sm).set_index("after_task"))
        progs.append(pd.read_csv(pr))
    tasks = list(mats[0].columns)
    rows = min(len(m) for m in mats)
    S = np.mean([m.to_numpy()[:rows] for m in mats], axis=0)
    with open(os.path.join(args.runs[0], "variant.json")) as f:
        steps_per_task = json.load(f)["continual"]["steps_per_task"]

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(14, 5.5), gridspec_kw={"width_ratios": [1, 1.4]})
    im = ax0.imshow(S, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax0.set_xticks(range(len(tasks)), tasks, rotation=60, ha="right", fontsize=7)
    ax0.set_yticks(range(rows), [f"after {tasks[k]}" for k in range(rows)], fontsize=7)
    ax0.set_title(f"success matrix (mean of {len(mats)} run(s))")
    for k in range(rows):
        for i in range(S.shape[1]):
            ax0.text(i, k, f"{S[k, i]:.2f}", ha="center", va="center", fontsize=6, color="w" if S[k, i] < 0.5 else "k")
    fig.colorbar(im, ax=ax0, fraction=0.046)
    n = min(len(pr) for pr in progs)
    x = progs[0]["continual/steps"].to_numpy()[:n]
    cmap = plt.get_cmap("tab20")
    for i, t in enumerate(tasks):
        col = f"evaluation/{t}/Success Rate"
        ys = np.stack([pr[col].to_numpy()[:n] for pr in progs])
        ax1.plot(x, ys.mean(0), color=cmap(i % 20), label=t, lw=1.2)
    for b in range(1, len(tasks)):
        ax1.axvline(b * steps_per_task, color="gray", ls="--", lw=0.7)
    ax1.set_xlabel("env steps")
    ax1.set_ylabel("success rate")
    ax1.set_ylim(-0.05, 1.05)
    ax1.legend(fontsize=6, ncol=2)
    ax1.set_title("per-task success (dashed: task boundaries)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
