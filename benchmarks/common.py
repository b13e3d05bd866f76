"""Helpers for benchmark scripts: run variants through the launcher and read their progress.csv;
cells (one run each, in <root>/...) claimed by one process at a time and run in a process pool."""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
from typing import Any, Callable, Dict, List, Sequence

import numpy as np
import pandas as pd


def read_runs(run_dirs: List[str]) -> Dict[str, pd.DataFrame]:
    return {d: pd.read_csv(os.path.join(d, "progress.csv")) for d in run_dirs}


def mean_spread(values: List[float]) -> str:
    """'mean +- std (n, min, max)'; the std is the population one (ddof=0): with n=3 seeds the
    sample std (ddof=1) is sqrt(3/2) = 1.22 times larger."""
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3f} +- {v.std():.3f} (n={len(v)}, min {v.min():.3f}, max {v.max():.3f})"


def claim_cell(cell: str) -> bool:
    """Take the cell dir for this process (a `.running` file made exclusively); False if another
    benchmark process on the same root has it. `release_cell` when done."""
    os.makedirs(cell, exist_ok=True)
    try:
        os.close(os.open(os.path.join(cell, ".running"), os.O_CREAT | os.O_EXCL))
        return True
    except FileExistsError:
        return False


def release_cell(cell: str) -> None:
    os.remove(os.path.join(cell, ".running"))


def run_cells(run_cell: Callable[[tuple], str], todo: Sequence[tuple], procs: int) -> None:
    """Each cell's arguments to `run_cell` in a pool of `procs` spawned processes (one cell per
    process), printing the line each returns as it finishes."""
    t0 = time.time()
    with mp.get_context("spawn").Pool(procs, maxtasksperchild=1) as pool:
        for line in pool.imap_unordered(run_cell, todo):
            print(f"[{(time.time() - t0) / 60:.1f} min] {line}", flush=True)
    print(f"wall {(time.time() - t0) / 60:.1f} min for {len(todo)} cells")


def cell_parser(doc: str, name: str, scale_help: str = "budget multiplier (smoke runs)") -> argparse.ArgumentParser:
    """The flags every cell benchmark has: --root (the same command again resumes it), --seeds,
    --procs, --scale, --report; the benchmark adds its own."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=os.path.join("data", "benchmarks", name, time.strftime("%Y_%m_%d_%H_%M_%S")),
                   help="the benchmark dir; the same command again resumes it")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--procs", type=int, default=2, help="cells at a time (one thread each)")
    p.add_argument("--scale", type=float, default=1.0, help=scale_help)
    p.add_argument("--report", action="store_true", help="print the table of the cells done and exit")
    return p


def finish_cell(cell: str, result: Dict[str, Any]) -> None:
    """Write the cell's result.json (whole or not at all) and release the cell."""
    with open(os.path.join(cell, "result.json.tmp"), "w") as f:
        json.dump(result, f)
    os.replace(os.path.join(cell, "result.json.tmp"), os.path.join(cell, "result.json"))
    release_cell(cell)


def run_pending(run_cell: Callable[[tuple], str], cells: Sequence[tuple], root: str, procs: int) -> None:
    """The cells (each tuple's last item its dir) that have no result.json yet, `procs` at a time."""
    todo = [c for c in cells if not os.path.isfile(os.path.join(c[-1], "result.json"))]
    print(f"{len(todo)} of {len(cells)} cells to run in {root}, {procs} at a time", flush=True)
    run_cells(run_cell, todo, procs)
