"""Latent codes of a LEGION run, projected to 2-D (PCA), coloured by task and by DPMM component.

Uses the latents of the last prior fit stored in the snapshot (a replay sample encoded by q(z|s,e)),
prints the number of active components and the component-task purity, and writes a PNG.

    python scripts/plot_latents.py data/legion/<run> [--snapshot itr_9.pt] [--out latents.png]
"""
from __future__ import annotations

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lifelong_rl.core.logger import SnapshotError, latest_snapshot, load_snapshot  # noqa: E402
from lifelong_rl.envs.streams import stream_tasks  # noqa: E402
from lifelong_rl.models.dpmm import component_purity  # noqa: E402


def pca_2d(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:2].T if x.shape[1] >= 2 else np.c_[x, np.zeros(len(x))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--snapshot", default="", help="snapshot file in the run dir (default: the latest)")
    p.add_argument("--out", default="", help="PNG path (default: RUN_DIR/latents.png)")
    args = p.parse_args()
    try:
        path = os.path.join(args.run_dir, args.snapshot) if args.snapshot else latest_snapshot(args.run_dir)
        if not path:
            raise SnapshotError(f"no snapshot in {args.run_dir}")
        snap = load_snapshot(path)
        variant = snap["variant"]
        if variant.get("algorithm") != "legion":
            raise SnapshotError(f"{path} is a {variant.get('algorithm')} run, not legion")
        sample = snap["trainer"]["fit_sample"]
        if sample is None:
            raise SnapshotError(f"{path}: the prior was not fitted yet (no latents stored)")
    except SnapshotError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    tasks = stream_tasks(variant["continual"]["stream"], variant["continual"]["num_tasks"] or None)
    z, task_ids, comps = sample["latents"], sample["task_ids"], sample["components"]
    xy = pca_2d(z.astype(np.float64))
    purity = component_purity(comps, task_ids)
    used = np.unique(comps)
    print(f"{path}: {len(z)} latents, {len(np.unique(task_ids))} tasks, {len(used)} components in use")
    for c in used:
        counts = np.bincount(task_ids[comps == c], minlength=len(tasks))
        print(f"  component {c}: " + ", ".join(f"{tasks[t]} {n}" for t, n in enumerate(counts) if n))
    print(f"component-task purity {purity:.3f}")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, labels, names, title in ((axes[0], task_ids, tasks, "by task"),
                                     (axes[1], comps, [f"component {c}" for c in range(int(comps.max()) + 1)],
                                      f"by DPMM component (purity {purity:.2f})")):
        for k in np.unique(labels):
            m = labels == k
            ax.scatter(xy[m, 0], xy[m, 1], s=4, alpha=0.6, label=names[k])
        ax.set_title(f"latent z, PCA, {title}")
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.legend(markerscale=3, fontsize=7)
    fig.tight_layout()
    out = args.out or os.path.join(args.run_dir, "latents.png")
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
