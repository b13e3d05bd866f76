"""--mode ray: every unit of a launch (one run, or the seeds of one configuration trained as one
batch) is one Ray task, with --cpus-per-run / --gpus-per-run as its resources.

Why Ray core tasks rather than Ray Tune: a run here already is a trial, with its own dir, logger,
snapshots and exact resume; Tune would wrap it in a second trial directory, checkpoint format and
syncing layer. What a run lacks is what Ray core gives: placement on a cluster's CPUs and GPUs,
re-execution of a task whose worker or node died (`max_retries`), and the results back at the
driver. Nothing here schedules or retries on its own.

A retried task finds the snapshots its earlier attempt wrote and resumes from the latest one (a
seed group: the latest epoch all its seeds have), dropping the progress rows logged after it, so
with the replay buffer in the snapshots (the default) the run ends with the progress.csv of an
uninterrupted run: no epoch lost or logged twice. An attempt that died before its first snapshot,
or left one that cannot be resumed, leaves nothing to resume: its dirs are cleared and the run
starts again.

Where files go: a run writes under the absolute path of its log dir on the node that runs it.
With a filesystem shared by every node at the same path (NFS, EFS, Filestore: the usual cluster
set-up, experiment_utils/ray_cluster_ec2.yaml) that is the driver's dir, and a retry on another
node resumes from the snapshots there. Without one (a task cannot see the marker file the driver
left beside the run dirs), a run sends its dirs back packed when it ends and the driver unpacks
them in place; a retry on another node then starts that run again from scratch (its snapshots
stayed on the lost node).
"""
from __future__ import annotations

import importlib
import io
import logging
import os
import re
import shutil
import tarfile
import uuid
from dataclasses import dataclass
from typing import List, Optional

import torch

from lifelong_rl.core.logger import SnapshotError, common_snapshots, latest_snapshot, load_snapshot
from lifelong_rl.variants import ConfigError


@dataclass
class RayOptions:
    address: Optional[str] = None  # None: start a Ray on this machine; "auto" or HOST:PORT: join a cluster
    cpus_per_run: int = 1
    gpus_per_run: float = 0.0
    max_retries: int = 3

    def check(self) -> None:
        """ConfigError for a missing Ray or a bad value (before anything is written)."""
        try:
            importlib.import_module("ray")
        except ImportError:
            raise ConfigError("--mode ray needs Ray, which is not installed: pip install -e '.[dist]' (the dist extra)") from None
        if self.address is not None and not (self.address == "auto" or re.fullmatch(r"[\w.\-]+:\d+", self.address)):
            raise ConfigError(f"--ray-address must be auto or HOST:PORT, got '{self.address}'")
        if self.cpus_per_run < 1:
            raise ConfigError(f"--cpus-per-run must be >= 1, got {self.cpus_per_run}")
        if self.gpus_per_run < 0:
            raise ConfigError(f"--gpus-per-run must be >= 0, got {self.gpus_per_run}")
        if self.max_retries < 0:
            raise ConfigError(f"--max-retries must be >= 0, got {self.max_retries}")
        if self.address is None:  # a Ray on this machine: a request beyond it would wait forever
            cores, gpus = os.cpu_count() or 1, torch.cuda.device_count()
            if self.cpus_per_run > cores:
                raise ConfigError(f"--cpus-per-run {self.cpus_per_run} exceeds this machine's {cores} cores "
                                  "(join a cluster with --ray-address)")
            if self.gpus_per_run > gpus:
                raise ConfigError(f"--gpus-per-run {self.gpus_per_run:g} exceeds this machine's {gpus} GPUs")


def launch_ray(units, options: RayOptions):
    """Run every unit as a Ray task; returns the runs' results (log dir, error, summary, exit code)."""
    import ray

    units = [[(v, os.path.abspath(d), r and os.path.abspath(r)) for v, d, r in unit] for unit in units]
    started = not ray.is_initialized()
    if started:
        if options.address is None:
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level=logging.WARNING)
        else:
            try:
                ray.init(address=options.address, logging_level=logging.WARNING)
            except ConnectionError as e:
                raise ConfigError(f"cannot join the Ray cluster at {options.address} ({str(e).strip().splitlines()[-1]}); "
                                  "a cluster with token authentication needs RAY_AUTH_MODE=token and its token here") from None
    # Beside each unit's run dirs, a file that tells a task whether it sees the driver's filesystem.
    markers = [os.path.join(os.path.dirname(unit[0][1]), f".driver-{uuid.uuid4().hex}") for unit in units]
    try:
        for m in markers:
            os.makedirs(os.path.dirname(m), exist_ok=True)
            open(m, "w").close()
        task = ray.remote(_ray_unit).options(num_cpus=options.cpus_per_run, num_gpus=options.gpus_per_run,
                                             max_retries=options.max_retries, retry_exceptions=False)
        refs = [task.remote(unit, marker, options.cpus_per_run) for unit, marker in zip(units, markers)]
        results = []
        for unit, ref in zip(units, refs):
            try:
                unit_results, packed = ray.get(ref)
            except ray.exceptions.RayError as e:
                lines = str(e).strip().splitlines()
                what = ("failed in its task" if isinstance(e, ray.exceptions.RayTaskError)
                        else f"was lost {options.max_retries + 1} times")
                unit_results = [(d, f"{type(e).__name__}: the run {what} ({lines[-1] if lines else ''})", "", 1)
                                for _, d, _ in unit]
                packed = None
            if packed is not None:
                unpack_dirs(packed)
            results += unit_results
        return results
    finally:
        for m in markers:
            if os.path.exists(m):
                os.remove(m)
        if started:
            ray.shutdown()


def _ray_unit(unit, marker: str, threads: int):
    """The Ray task of one unit (on a worker): continue what an earlier attempt left, run, and send
    the run dirs back packed when this node does not see the driver's filesystem."""
    from experiment_utils.launcher import _run_unit

    shared = os.path.exists(marker)
    results = _run_unit(continue_attempt(unit), threads)
    return results, None if shared else pack_dirs([d for _, d, _ in unit])


def continue_attempt(unit):
    """The unit as this attempt should run it: from the snapshots an earlier attempt left (a retry
    after a lost worker; a seed group from the latest epoch all its seeds have), or afresh, clearing
    what an attempt that left nothing resumable wrote."""
    from experiment_configs.base_experiment import check_resumable

    dirs = [d for _, d, _ in unit]
    points = common_snapshots(dirs) if len(unit) > 1 else [latest_snapshot(dirs[0]) if os.path.isdir(dirs[0]) else None]
    try:
        for p in points or []:
            if p is not None:
                check_resumable(load_snapshot(p, mmap=True), p)
    except SnapshotError:
        points = None
    if not points or points[0] is None:
        for _, d, resume_from in unit:
            if resume_from is None and os.path.isdir(d):
                shutil.rmtree(d)
        return unit
    return [(v, d, p) for (v, d, _), p in zip(unit, points)]


def pack_dirs(dirs: List[str]) -> bytes:
    """The dirs (absolute paths) as one tar.gz, named by their paths."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for d in dirs:
            if os.path.isdir(d):
                tar.add(d, arcname=os.path.abspath(d).lstrip(os.sep))
    return buf.getvalue()


def unpack_dirs(packed: bytes, root: str = os.sep) -> List[str]:
    """Unpack `pack_dirs` output under `root` (the driver's filesystem root); returns the files."""
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
        members = [m for m in tar.getmembers() if (m.isfile() or m.isdir()) and ".." not in m.name.split("/")]
        tar.extractall(root, members=members)
        return [os.path.join(root, m.name) for m in members if m.isfile()]

