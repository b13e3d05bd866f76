"""Run one variant: check it, open the log dir, build the algorithm's loop, (resume,) train."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

from experiment_configs import registry
from experiment_configs.algorithms.lockstep import build_lockstep
from lifelong_rl.core.logger import CsvTable, SnapshotError, latest_snapshot, load_snapshot
from lifelong_rl.core.loop import SNAPSHOT_FORMAT, TrainingLoop
from lifelong_rl.variants import ConfigError


def check_fresh_dir(log_dir: str) -> None:
    """A new run may not write into a directory that already holds a run: its logged epochs would be
    duplicated and its snapshot overwritten. Raises ConfigError naming what is there."""
    if not os.path.isdir(log_dir):
        return
    held = [name for name in ("metrics.json",) if os.path.isfile(os.path.join(log_dir, name))]
    snapshot = latest_snapshot(log_dir)
    if snapshot:
        held.append(os.path.basename(snapshot))
    for table in ("progress.csv", "offline_progress.csv"):
        rows = len(CsvTable(os.path.join(log_dir, table)).rows())
        if rows:
            held.append(f"{table} with {rows} epochs")
    if held:
        raise ConfigError(f"{log_dir} already holds a run ({', '.join(held)}): resume it with --resume {log_dir} "
                          "or choose another log dir")


def check_format(snap: Dict[str, Any], path: str) -> None:
    if snap.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(f"{path} was written by an older version of lifelong_rl (snapshot format "
                            f"{snap.get('format')}, this version reads {SNAPSHOT_FORMAT})")


def check_resumable(snap: Dict[str, Any], path: str) -> None:
    """A snapshot this version can resume, with what its method needs (SnapshotError otherwise)."""
    check_format(snap, path)
    module = registry.get(snap["variant"]["algorithm"])
    if getattr(module, "RESUME_NEEDS_BUFFER", False) and not snap["buffer_saved"]:
        raise SnapshotError(f"{path} holds no replay buffer, which a {module.NAME} run needs to resume "
                            "(logging/save_replay_buffer was false)")


def where(variant: Dict[str, Any]) -> str:
    """What a run trains on, for its log lines: its env, its stream, or its recorded trajectories."""
    if "env" in variant:
        return variant["env"]
    if "continual" in variant:
        return variant["continual"]["stream"]
    return f"{len(variant['trajectories'])} tasks' trajectories"


def experiment(variant: Dict[str, Any], log_dir: str, resume_from: Optional[str] = None) -> TrainingLoop:
    """Train one variant into `log_dir` (resuming from a snapshot path if given); returns the loop.
    Without a snapshot, `log_dir` must not already hold a run (ConfigError)."""
    variant = registry.validate(variant)
    snap = None
    if resume_from is None:
        check_fresh_dir(log_dir)
    else:
        snap = load_snapshot(resume_from)
        check_resumable(snap, resume_from)
    loop, close = registry.build(variant, log_dir)
    try:
        if snap is not None:
            loop.restore(snap)
        loop.logger.log(f"training {variant['algorithm']} on {where(variant)} (seed {variant['seed']}) in {log_dir}")
        loop.train()
        loop.logger.log("done")
        return loop
    finally:
        close()


def lockstep_experiment(variants: Sequence[Dict[str, Any]], log_dirs: Sequence[str],
                        resume_from: Optional[Sequence[Optional[str]]] = None) -> List[Dict[str, Any]]:
    """Train the seeds of one configuration as one batch (--vectorize-seeds), each into its own log
    dir, resuming from the given snapshots (all or none); returns each seed's summary."""
    variants = [registry.validate(v) for v in variants]
    name = variants[0]["algorithm"]
    registry.check_vectorizable(variants[0])
    same = [{k: v for k, v in var.items() if k != "seed"} for var in variants]
    if any(s != same[0] for s in same[1:]):
        raise ConfigError("vectorized seeds must share every variant key but the seed")
    snaps = None
    if resume_from is not None and any(resume_from) and not all(resume_from):
        raise SnapshotError("a vectorized run resumes every seed from a snapshot of one epoch, or none")
    if resume_from is None or not any(resume_from):
        for d in log_dirs:
            check_fresh_dir(d)
    else:
        snaps = [load_snapshot(p) for p in resume_from]
        for snap, p in zip(snaps, resume_from):
            check_resumable(snap, p)
    loop, close = build_lockstep(list(variants), list(log_dirs))
    try:
        if snaps is not None:
            loop.restore(snaps)
        seeds = ", ".join(str(v["seed"]) for v in variants)
        loop.loops[0].logger.log(f"training {name} on {where(variants[0])}, seeds {seeds} as one batch, in {', '.join(log_dirs)}")
        summaries = loop.train()
        loop.loops[0].logger.log("done")
        return summaries
    finally:
        close()
