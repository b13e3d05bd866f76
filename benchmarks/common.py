"""Helpers for benchmark scripts: run variants through the launcher and read their progress.csv."""
from __future__ import annotations

import os
from typing import Dict, List

import numpy as np
import pandas as pd


def read_runs(run_dirs: List[str]) -> Dict[str, pd.DataFrame]:
    return {d: pd.read_csv(os.path.join(d, "progress.csv")) for d in run_dirs}


def mean_spread(values: List[float]) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3f} +- {v.std():.3f} (n={len(v)}, min {v.min():.3f}, max {v.max():.3f})"
