"""Helpers for benchmark scripts: run variants through the launcher and read their progress.csv."""
from __future__ import annotations

import os
from typing import Dict, List

import numpy as np
import pandas as pd


def read_runs(run_dirs: List[str]) -> Dict[str, pd.DataFrame]:
    return {d: pd.read_csv(os.path.join(d, "progress.csv")) for d in run_dirs}


def mean_spread(values: List[float]) -> str:
    """'mean +- std (n, min, max)'; the std is the population one (ddof=0): with n=3 seeds the
    sample std (ddof=1) is sqrt(3/2) = 1.22 times larger."""
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3f} +- {v.std():.3f} (n={len(v)}, min {v.min():.3f}, max {v.max():.3f})"
