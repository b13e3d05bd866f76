"""Learning curves: mean and spread (min-max band and +-1 std) over runs, grouped by label.

    python scripts/plot.py data/sac/run_s0 data/sac/run_s1 --y "evaluation/Success Rate" --out curves.png
    python scripts/plot.py data/sac/* --group-by sweep   # one curve per sweep point, seeds pooled
    python scripts/plot.py data/mopo/* --table offline_progress.csv --x Epoch --y "evaluation/Normalized Score"

Runs are grouped by their variant's env + algorithm + sweep point (seeds pooled) unless --group-by run.
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


def label_of(run_dir: str, group_by: str) -> str:
    if group_by == "run":
        return os.path.basename(os.path.normpath(run_dir))
    with open(os.path.join(run_dir, "variant.json")) as f:
        v = json.load(f)
    sweep = ",".join(f"{k.split('/')[-1]}={val}" for k, val in v.get("sweep_point", {}).items())
    return f"{v.get('algorithm')} {v.get('env')}" + (f" {sweep}" if sweep else "")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run directories (each with progress.csv)")
    p.add_argument("--table", default="progress.csv", help="offline_progress.csv: an offline phase's epochs")
    p.add_argument("--y", default="evaluation/Average Returns", help="progress.csv column")
    p.add_argument("--x", default="Env Steps Total", help="x column (default: Env Steps Total)")
    p.add_argument("--group-by", choices=["sweep", "run"], default="sweep")
    p.add_argument("--out", default="curves.png")
    args = p.parse_args(argv)
    groups = {}
    for d in args.runs:
        path = os.path.join(d, args.table)
        if not os.path.isfile(path):
            print(f"error: no {args.table} in {d}", file=sys.stderr)
            return 2
        df = pd.read_csv(path)
        for col in (args.x, args.y):
            if col not in df:
                print(f"error: column '{col}' not in {path}; columns: {', '.join(df.columns)}", file=sys.stderr)
                return 2
        groups.setdefault(label_of(d, args.group_by), []).append(df[[args.x, args.y]].dropna())
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, dfs in groups.items():
        n = min(len(df) for df in dfs)
        x = dfs[0][args.x].to_numpy()[:n]
        ys = np.stack([df[args.y].to_numpy()[:n] for df in dfs])
        mean = ys.mean(0)
        line, = ax.plot(x, mean, label=f"{label} (n={len(dfs)})")
        if len(dfs) > 1:
            lo, hi = ys.min(0), ys.max(0)
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.12)
            # +-1 std, kept inside the observed range (a success rate never leaves [0, 1]).
            std = ys.std(0)
            ax.fill_between(x, np.maximum(mean - std, lo), np.minimum(mean + std, hi), color=line.get_color(), alpha=0.25)
    ax.set_xlabel(args.x)
    ax.set_ylabel(args.y)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
