"""Run directory: variant.json, progress.csv (one row per epoch), timings.csv, debug.log,
snapshots (itr_<epoch>.pt, params.pt) and optional wandb / TensorBoard. An offline phase before the
online one (lifelong_rl.core.loop.PhasedLoop) writes its own offline_progress.csv,
offline_timings.csv and offline_itr_<epoch>.pt / offline_params.pt (the logger's phase prefix).

progress.csv holds only quantities that the seed determines, so the same seed on CPU gives the
same file; wall-clock timings go to timings.csv beside it (one row per epoch too).
"""
from __future__ import annotations

import csv
import datetime
import json
import os
import re
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from tqdm import tqdm

SNAPSHOT_MODES = ("all", "last", "gap", "gap_and_last", "none")


class SnapshotError(RuntimeError):
    """A snapshot is missing, unreadable or not a lifelong_rl snapshot."""


def _numpy_globals() -> List[Any]:
    """The numpy names a snapshot may hold besides tensors (arrays, scalars and dtypes in RNG
    states, buffers and the fitted mixture); nothing else is unpickled."""
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    return [np.dtype, np.ndarray, multiarray._reconstruct, multiarray.scalar, *{type(np.dtype(c)) for c in "?bhilqBHILQefdgFDG"}]


def commit_snapshots(paths: List[str]) -> None:
    """Move written `<path>.tmp` files into place: a kill mid-write never leaves a truncated snapshot.
    Several runs' snapshots of one epoch (the seeds of a vectorized run: paths in several dirs) go
    in three passes: the files they replace step aside to `<path>.prev`, the new ones move in, the
    old ones go. A kill at any point leaves every run one snapshot of a common epoch
    (`common_snapshots` finds it)."""
    group = len({os.path.dirname(p) for p in paths}) > 1
    replaced = [p for p in paths if group and os.path.exists(p)]
    for p in replaced:
        os.replace(p, p + ".prev")
    for p in paths:
        os.replace(p + ".tmp", p)
    for p in replaced:
        os.remove(p + ".prev")


def snapshot_epochs(run_dir: str) -> Dict[int, str]:
    """{epoch: path} of every readable snapshot in `run_dir` (itr_<epoch>.pt, params.pt, params.pt.prev)."""
    out: Dict[int, str] = {}
    for name in sorted(os.listdir(run_dir)):
        m = re.fullmatch(r"itr_(\d+)\.pt", name)
        if m:
            out.setdefault(int(m.group(1)), os.path.join(run_dir, name))
        elif name in ("params.pt", "params.pt.prev"):
            try:
                out.setdefault(int(load_snapshot(os.path.join(run_dir, name), mmap=True)["epoch"]), os.path.join(run_dir, name))
            except SnapshotError:
                pass
    return out


def common_snapshots(run_dirs: List[str]) -> Optional[List[str]]:
    """One snapshot per run of the latest epoch they all have (the seeds of a vectorized run); None
    when they share none."""
    epochs = [snapshot_epochs(d) if os.path.isdir(d) else {} for d in run_dirs]
    common = set(epochs[0]).intersection(*epochs[1:])
    return [e[max(common)] for e in epochs] if common else None


def load_snapshot(path: str, map_location: str | torch.device = "cpu", mmap: bool = False) -> Dict[str, Any]:
    """Load a snapshot, raising SnapshotError with a one-line reason on any failure. `mmap`: tensors
    (networks, the replay buffer) are mapped, not read, until used."""
    if not os.path.isfile(path):
        raise SnapshotError(f"snapshot not found: {path}")
    try:
        # The restricted unpickler: tensors, plain containers and numpy arrays only, so a snapshot
        # from elsewhere cannot run code when it is loaded.
        with torch.serialization.safe_globals(_numpy_globals()):
            snap = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as e:  # noqa: BLE001 - any failure to read means a corrupt file
        raise SnapshotError(f"snapshot {path} is corrupt or unreadable ({type(e).__name__})") from None
    if not isinstance(snap, dict) or "variant" not in snap or "epoch" not in snap or "trainer" not in snap:
        raise SnapshotError(f"{path} is not a lifelong_rl snapshot (missing variant/epoch/trainer)")
    return snap


PHASES = ("", "offline_")  # snapshot and table prefixes, the later phase first


def latest_snapshot(run_dir: str) -> Optional[str]:
    """The snapshot in `run_dir` with the highest epoch (params.pt or itr_<epoch>.pt) of the latest
    phase that has one (the online phase, else the offline one)."""
    for prefix in PHASES:
        best, best_epoch = None, -1
        for name in os.listdir(run_dir):
            m = re.fullmatch(prefix + r"itr_(\d+)\.pt", name)
            if m and int(m.group(1)) > best_epoch:
                best, best_epoch = os.path.join(run_dir, name), int(m.group(1))
        params = os.path.join(run_dir, prefix + "params.pt")
        if os.path.isfile(params):
            try:
                epoch = int(load_snapshot(params, mmap=True)["epoch"])
            except SnapshotError:
                epoch = -1
            if epoch >= best_epoch:
                best = params
        if best is not None:
            return best
    return None


class CsvTable:
    """A CSV file that gains columns when new keys appear (rewritten with the union header)."""

    def __init__(self, path: str):
        self.path = path
        self.header: List[str] = []
        if os.path.isfile(path):
            with open(path, newline="") as f:
                self.header = next(csv.reader(f), [])

    def rows(self) -> List[Dict[str, str]]:
        if not os.path.isfile(self.path):
            return []
        with open(self.path, newline="") as f:
            return list(csv.DictReader(f))

    def _rewrite(self, rows: List[Dict[str, Any]]) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.header, restval="")
            w.writeheader()
            w.writerows(rows)
        os.replace(tmp, self.path)

    def append(self, row: Dict[str, Any]) -> None:
        new_keys = [k for k in row if k not in self.header]
        if new_keys or not os.path.isfile(self.path):
            old = self.rows()
            self.header = self.header + new_keys
            self._rewrite(old + [row])
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.header, restval="").writerow(row)
            f.flush()
            os.fsync(f.fileno())

    def truncate_after(self, epoch: int) -> int:
        """Drop rows whose 'Epoch' is greater than `epoch`; returns how many were dropped."""
        rows = self.rows()
        keep = [r for r in rows if r.get("Epoch", "") != "" and int(float(r["Epoch"])) <= epoch]
        if len(keep) != len(rows):
            self._rewrite(keep)
        return len(rows) - len(keep)


def wandb_mode() -> str:
    """WANDB_MODE if set; else online when an API key is configured (WANDB_API_KEY or a netrc
    entry for api.wandb.ai), offline otherwise (no prompt, no failed login on a closed network)."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    netrc = os.path.expanduser(os.environ.get("NETRC", "~/.netrc"))
    try:
        with open(netrc) as f:
            return "online" if "api.wandb.ai" in f.read() else "offline"
    except OSError:
        return "offline"


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return repr(x)


class Logger:
    def __init__(
        self,
        log_dir: str,
        variant: Dict[str, Any],
        snapshot_mode: str = "last",
        snapshot_gap: int = 1,
        log_to_wandb: bool = False,
        log_to_tensorboard: bool = False,
        echo: bool = True,
    ):
        if snapshot_mode not in SNAPSHOT_MODES:
            raise ValueError(f"unknown snapshot mode '{snapshot_mode}'; valid: {', '.join(SNAPSHOT_MODES)}")
        if snapshot_gap < 1:
            raise ValueError(f"snapshot_gap must be >= 1, got {snapshot_gap}")
        os.makedirs(log_dir, exist_ok=True)
        self.log_dir, self.snapshot_mode, self.snapshot_gap, self.echo = log_dir, snapshot_mode, snapshot_gap, echo
        with open(os.path.join(log_dir, "variant.json"), "w") as f:
            json.dump(_jsonable(variant), f, indent=2, sort_keys=True)
        self.set_phase("")
        self._debug = open(os.path.join(log_dir, "debug.log"), "a")
        self._row: Dict[str, Any] = {}
        self._wandb = self._tb = None
        if log_to_wandb:
            import wandb  # the `log` extra

            self._wandb = wandb.init(dir=log_dir, config=_jsonable(variant), name=os.path.basename(log_dir),
                                     project=variant.get("exp_name", "lifelong_rl"), reinit=True, mode=wandb_mode())
        if log_to_tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # the `log` extra

            self._tb = SummaryWriter(os.path.join(log_dir, "tb"))

    def set_phase(self, prefix: str, step_offset: int = 0) -> None:
        """Write the tables and snapshots of a phase: "" (online) or "offline_"; wandb and TensorBoard
        get its epochs after `step_offset` (the epochs of the phases before it)."""
        self.phase, self.step_offset = prefix, step_offset
        self.progress = CsvTable(os.path.join(self.log_dir, prefix + "progress.csv"))
        self.timings = CsvTable(os.path.join(self.log_dir, prefix + "timings.csv"))

    # -- text -----------------------------------------------------------------------------
    def log(self, msg: str, always: bool = False) -> None:
        """A line in debug.log, also printed when echoing (no progress bar) or when `always`
        (task switches, resumes, the summary), above the progress bar if there is one."""
        line = f"{datetime.datetime.now():%Y-%m-%d %H:%M:%S} | {msg}"
        self._debug.write(line + "\n")
        self._debug.flush()
        if self.echo or always:
            tqdm.write(line)

    # -- tabular --------------------------------------------------------------------------
    def record_dict(self, d: Dict[str, Any], prefix: str = "") -> None:
        for k, v in d.items():
            self._row[prefix + k] = v

    def dump_tabular(self, timings: Optional[Dict[str, float]] = None) -> Dict[str, Any]:
        row, self._row = self._row, {}
        self.progress.append(row)
        step = int(row.get("Epoch", 0))
        if timings is not None:
            self.timings.append({"Epoch": step, **timings})
        numeric = {self.phase + k: v for k, v in {**row, **(timings or {})}.items() if isinstance(v, (int, float))}
        if self._wandb is not None:
            self._wandb.log(numeric, step=step + self.step_offset)
        if self._tb is not None:
            for k, v in numeric.items():
                self._tb.add_scalar(k, v, step + self.step_offset)
            self._tb.flush()
        return row

    def truncate_after(self, epoch: int) -> int:
        self.timings.truncate_after(epoch)
        return self.progress.truncate_after(epoch)

    # -- snapshots ------------------------------------------------------------------------
    def save_snapshot(self, epoch: int, snapshot: Dict[str, Any], is_last: bool = False, commit: bool = True) -> List[str]:
        """Write the files the snapshot mode asks for at this epoch; returns their paths. With
        `commit` false they stay at `<path>.tmp` until `commit_snapshots(paths)` (several seeds'
        snapshots of one epoch land together)."""
        mode, paths = self.snapshot_mode, []
        on_gap = epoch % self.snapshot_gap == 0 or is_last
        if mode == "all" or (mode in ("gap", "gap_and_last") and on_gap):
            paths.append(os.path.join(self.log_dir, f"{self.phase}itr_{epoch}.pt"))
        if mode in ("all", "last", "gap_and_last"):
            paths.append(os.path.join(self.log_dir, f"{self.phase}params.pt"))
        for p in paths:
            torch.save(snapshot, p + ".tmp")
        if commit:
            commit_snapshots(paths)
        return paths

    def close(self) -> None:
        self._debug.close()
        if self._wandb is not None:
            self._wandb.finish()
        if self._tb is not None:
            self._tb.close()
