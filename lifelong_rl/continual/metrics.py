"""Continual World metrics (Wolczyk et al., NeurIPS 2021, section 3).

Notation: N tasks trained one after another for Delta steps each; p_i(t) is the success rate of
task i evaluated at step t.

- success matrix S[k, i] = p_i after training on task k (row k written at the end of task k);
- average performance  P = mean_i p_i(T) at the end, T = N * Delta;
- forgetting           F_i = p_i(i-th task's end) - p_i(T), and its mean over tasks (the last task
                       has F = 0 by construction and is included, as in CW);
- forward transfer     FT_i = (AUC_i - AUC_i^ref) / (1 - AUC_i^ref), with AUC_i the normalised
                       area under p_i while task i is trained and AUC_i^ref the same for a single-task
                       reference run of task i; mean over tasks.

The area is taken from the evaluations made while the task trains, t in (start, start + Delta]:
their mean, the right-endpoint sum of CW's integral for evenly spaced evaluations. The point at
`start` itself is left out on purpose: a continual run has one there (the previous task's last
evaluation, zero-shot on task i) but a reference run starts untrained and is not evaluated at step
0, and an untrained deterministic policy does not always fail (measured, 128x128 networks, seeds
0-2: handle-press and drawer-close each succeeded untrained for one of the three seeds). Counting
the start for one curve and assuming 0 for the other would bias FT.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np


def average_performance(final_successes: Sequence[float]) -> float:
    return float(np.mean(final_successes))


def forgetting(success_matrix: np.ndarray) -> np.ndarray:
    """F_i = S[i, i] - S[N-1, i] for each task i."""
    S = np.asarray(success_matrix, dtype=float)
    return np.diag(S) - S[-1]


def auc(steps: Sequence[float], values: Sequence[float], start: float, length: float) -> float:
    """Normalised area under a success curve over the window (start, start + length]: the mean of
    the evaluations inside it (see the module docstring). A window without evaluations is an error."""
    x = np.asarray(steps, dtype=float) - start
    y = np.asarray(values, dtype=float)
    inside = (x > 0) & (x <= length)
    if not inside.any():
        raise ValueError(f"no evaluation in the window ({start}, {start + length}]")
    return float(y[inside].mean())


def forward_transfer(auc_cl: float, auc_ref: float) -> float:
    """FT = (AUC - AUC_ref) / (1 - AUC_ref); a reference that is already perfect gives 0 gain room."""
    if auc_ref >= 1.0:
        return 0.0 if auc_cl >= 1.0 else float(auc_cl - auc_ref)
    return float((auc_cl - auc_ref) / (1.0 - auc_ref))


def continual_metrics(
    success_matrix: np.ndarray,
    task_curves: Optional[List[Dict[str, List[float]]]] = None,
    steps_per_task: Optional[int] = None,
    reference_curves: Optional[List[Optional[Dict[str, List[float]]]]] = None,
) -> Dict[str, object]:
    """All metrics from a complete success matrix; forward transfer only where a reference exists
    (otherwise None, reported as unavailable, never as 0).

    task_curves[i] = {"steps": [...], "success": [...]} for task i over the whole run (global steps);
    reference_curves[i] = the same for a single-task run of task i (steps from 0).
    """
    S = np.asarray(success_matrix, dtype=float)
    n = S.shape[1]
    f = forgetting(S) if S.shape[0] == n else None
    out: Dict[str, object] = {
        "num_tasks": n,
        "average_performance": average_performance(S[-1]),
        "final_success": S[-1].tolist(),
        "forgetting_per_task": None if f is None else f.tolist(),
        "forgetting": None if f is None else float(f.mean()),
        "forward_transfer_per_task": None,
        "forward_transfer": None,
    }
    if task_curves is not None and reference_curves is not None and steps_per_task:
        fts: List[Optional[float]] = []
        for i in range(n):
            ref = reference_curves[i] if i < len(reference_curves) else None
            if ref is None:
                fts.append(None)
                continue
            a_cl = auc(task_curves[i]["steps"], task_curves[i]["success"], i * steps_per_task, steps_per_task)
            a_ref = auc(ref["steps"], ref["success"], 0, steps_per_task)
            fts.append(forward_transfer(a_cl, a_ref))
        out["forward_transfer_per_task"] = fts
        avail = [x for x in fts if x is not None]
        out["forward_transfer"] = float(np.mean(avail)) if len(avail) == n else None
    return out
