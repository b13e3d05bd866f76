"""Offline datasets in agent_data/: made by scripts/collect_dataset.py, loaded into replay buffers.

A dataset is a set of whole episodes, held here as flat transition arrays

    observations [N, obs]  actions [N, act]  rewards [N]  next_observations [N, obs]
    terminals [N] bool (the MDP ended: no bootstrap)  timeouts [N] bool (cut by a time limit or by
    the end of the collection: bootstrap through it)

where every episode ends on a terminal or a timeout, plus `meta` (the env's lifelong_rl name, the
kind, where it came from, the returns of its episodes).

On disk, `agent_data/<name>` is one of
- a Minari dataset (Farama's format for offline RL, the successor of D4RL's): `<name>/data/` with
  `main_data.hdf5` and `metadata.json`, written when the `minari` package (the `offline` extra) is
  installed; `meta` goes to `<name>/lifelong_rl.json` beside it;
- `<name>.npz`: the arrays above under their names and `meta` as a JSON string, written otherwise;
- `<name>.pkl` (read only): the format of Lu et al.'s lifelong_rl, one pickled float array
  [N, obs + act + 1 + 1 + obs] of columns obs | action | reward | terminal | next obs; it has no
  timeouts, so an episode ends wherever the next row does not start at this row's next observation.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import warnings
from typing import Any, Dict, Optional

import numpy as np

from lifelong_rl.variants import ConfigError

DATA_ROOT = "agent_data"
ARRAYS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")
META_FILE = "lifelong_rl.json"


class DatasetError(ConfigError):
    """A dataset is missing, unreadable or does not fit the run (bad input: exit 2)."""


def minari_available() -> bool:
    """Whether the `minari` package (the `offline` extra) is installed."""
    return importlib.util.find_spec("minari") is not None


class OfflineDataset:
    def __init__(self, arrays: Dict[str, np.ndarray], meta: Optional[Dict[str, Any]] = None):
        n = len(arrays["rewards"])
        self.observations = np.asarray(arrays["observations"], np.float32).reshape(n, -1)
        self.actions = np.asarray(arrays["actions"], np.float32).reshape(n, -1)
        self.rewards = np.asarray(arrays["rewards"], np.float32).reshape(n)
        self.next_observations = np.asarray(arrays["next_observations"], np.float32).reshape(n, -1)
        self.terminals = np.asarray(arrays["terminals"]).reshape(n).astype(bool)
        self.timeouts = np.asarray(arrays["timeouts"]).reshape(n).astype(bool) & ~self.terminals
        # Every episode ends on a terminal or a timeout: where the next row does not continue this
        # one (a replay buffer's cut), and at the last row.
        if n:
            breaks = np.zeros(n, bool)
            breaks[:-1] = np.any(self.next_observations[:-1] != self.observations[1:], axis=1)
            breaks[-1] = True
            self.timeouts |= breaks & ~self.terminals
        self.meta = dict(meta or {})
        # Per-transition arrays beyond a transition's (an expert's action distribution): kept by
        # `head`, `concatenate` and the .npz format.
        self.extras = {k: np.asarray(v, np.float32).reshape(n, -1) for k, v in arrays.items() if k not in ARRAYS}

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def obs_dim(self) -> int:
        return self.observations.shape[1]

    @property
    def action_dim(self) -> int:
        return self.actions.shape[1]

    def arrays(self) -> Dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ARRAYS}

    def episode_bounds(self) -> np.ndarray:
        """[E, 2] start and end (exclusive) row of every episode."""
        ends = np.flatnonzero(self.terminals | self.timeouts) + 1
        return np.stack([np.concatenate([[0], ends[:-1]]), ends], axis=1) if len(ends) else np.zeros((0, 2), int)

    def episode_returns(self) -> np.ndarray:
        return np.array([self.rewards[a:b].sum() for a, b in self.episode_bounds()], np.float64)

    def head(self, n: int) -> "OfflineDataset":
        """The first `n` transitions (the last one kept becomes a timeout if it ends nothing)."""
        return OfflineDataset({k: v[:n] for k, v in {**self.arrays(), **self.extras}.items()}, self.meta)

    @staticmethod
    def concatenate(parts, meta: Dict[str, Any]) -> "OfflineDataset":
        """The parts one after the other; an extra array is kept only if every part has it."""
        extras = set.intersection(*(set(p.extras) for p in parts)) if parts else set()
        arrays = {k: np.concatenate([getattr(p, k) for p in parts]) for k in ARRAYS}
        return OfflineDataset({**arrays, **{k: np.concatenate([p.extras[k] for p in parts]) for k in extras}}, meta)

    def fingerprint(self) -> str:
        """A hash of the transitions: a resumed run checks it still has the data it started with."""
        h = hashlib.sha1()
        for k in ARRAYS:
            h.update(np.ascontiguousarray(getattr(self, k)).tobytes())
        for k in sorted(self.extras):
            h.update(k.encode() + np.ascontiguousarray(self.extras[k]).tobytes())
        return h.hexdigest()

    def buffer_batch(self) -> Dict[str, np.ndarray]:
        """The arrays as replay-buffer fields (task id 0)."""
        return {**{k: v.astype(np.float32) for k, v in self.arrays().items()}, "task_ids": np.zeros(len(self), np.int64)}


# -- paths ------------------------------------------------------------------------------------------
REPO_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), DATA_ROOT)


def find_dataset(name: str, root: str = DATA_ROOT) -> str:
    """The file or Minari dir of dataset `name`: a path as given, else <root>/<name> (root relative
    to the working dir, then the repository's agent_data/); DatasetError when there is none."""
    bases = [name, os.path.join(root, name)] + ([os.path.join(REPO_DATA, name)] if root == DATA_ROOT else [])
    for base in bases:
        for p in (base, base + ".npz", base + ".pkl"):
            if os.path.isfile(p) or os.path.isfile(os.path.join(p, "data", "metadata.json")):
                return p
    raise DatasetError(f"dataset '{name}' not found (looked for {bases[1]}/data/ (Minari), {bases[1]}.npz and "
                       f"{bases[1]}.pkl); make it with scripts/collect_dataset.py")


# -- writing ----------------------------------------------------------------------------------------
def save_dataset(data: OfflineDataset, name: str, root: str = DATA_ROOT, fmt: str = "auto",
                 env=None) -> str:
    """Write `data` as agent_data/<name> (Minari when installed, `fmt` "minari" or "npz" to choose);
    `env`: the gymnasium env (its spaces and spec go into Minari's metadata). Returns the path."""
    if fmt == "auto":
        fmt = "minari" if minari_available() and not data.extras else "npz"
    path = os.path.join(root, name)  # an absolute name stays as it is
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if fmt == "npz":
        out = path + ".npz"
        tmp = out + ".tmp.npz"
        np.savez_compressed(tmp, **data.arrays(), **data.extras, meta=np.array(json.dumps(data.meta)))
        os.replace(tmp, out)
        return out
    if data.extras:
        raise ValueError(f"a dataset with extra arrays ({', '.join(data.extras)}) is written as npz only")
    if fmt != "minari":
        raise ValueError(f"unknown dataset format '{fmt}' (minari, npz)")
    _save_minari(data, path, env)
    return path


def _save_minari(data: OfflineDataset, path: str, env) -> None:
    import minari
    from minari.data_collector import EpisodeBuffer

    episodes = []
    for a, b in data.episode_bounds():
        obs = np.concatenate([data.observations[a:b], data.next_observations[b - 1:b]])
        episodes.append(EpisodeBuffer(observations=obs, actions=data.actions[a:b], rewards=data.rewards[a:b].astype(np.float64),
                                      terminations=data.terminals[a:b], truncations=data.timeouts[a:b], infos={}))
    # Minari writes <MINARI_DATASETS_PATH>/<dataset id>/data; the id is the dir's name.
    parent, dataset_id = os.path.split(os.path.abspath(path))
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = parent
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Minari's notes on missing author / code links
            minari.create_dataset_from_buffers(
                dataset_id, episodes, env=env, algorithm_name=str(data.meta.get("kind", "")),
                description=json.dumps(data.meta), data_format="hdf5",
                action_space=None if env is not None else _box(data.action_dim, -1.0, 1.0),
                observation_space=None if env is not None else _box(data.obs_dim, -np.inf, np.inf))
    finally:
        if old is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = old
    with open(os.path.join(path, META_FILE), "w") as f:
        json.dump(data.meta, f, indent=2, sort_keys=True)


def _box(dim: int, low: float, high: float):
    import gymnasium as gym

    return gym.spaces.Box(low, high, (dim,), np.float32)


# -- reading ----------------------------------------------------------------------------------------
def load_dataset(name: str, root: str = DATA_ROOT) -> OfflineDataset:
    """Dataset `name` (agent_data/<name> or a path) in any of the three formats; DatasetError with a
    one-line reason when it is missing or unreadable."""
    path = find_dataset(name, root)
    try:
        if os.path.isdir(path):
            return _load_minari(path)
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                data = OfflineDataset({k: z[k] for k in z.files if k != "meta"}, json.loads(str(z["meta"])))
        else:
            data = _load_pkl(path)
    except DatasetError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure to read means a corrupt dataset
        raise DatasetError(f"dataset {path} is corrupt or unreadable ({type(e).__name__}: {str(e)[:120]})") from None
    if len(data) == 0:
        raise DatasetError(f"dataset {path} holds no transitions")
    for k in ARRAYS:
        if not np.all(np.isfinite(getattr(data, k).astype(np.float64))):
            raise DatasetError(f"dataset {path} holds non-finite {k}")
    return data


def _load_minari(path: str) -> OfflineDataset:
    if not minari_available():
        raise DatasetError(f"dataset {path} is in the Minari format: install the `offline` extra (pip install -e .[offline])")
    from minari import MinariDataset

    ds = MinariDataset(os.path.join(path, "data"))
    parts: Dict[str, list] = {k: [] for k in ARRAYS}
    for ep in ds.iterate_episodes():
        obs = np.asarray(ep.observations)
        for k, v in (("observations", obs[:-1]), ("next_observations", obs[1:]), ("actions", ep.actions),
                     ("rewards", ep.rewards), ("terminals", ep.terminations), ("timeouts", ep.truncations)):
            parts[k].append(np.asarray(v))
    meta_file = os.path.join(path, META_FILE)
    meta = json.load(open(meta_file)) if os.path.isfile(meta_file) else {}
    if "env" not in meta and ds.spec.env_spec is not None:  # a Minari dataset made elsewhere: its gymnasium id
        meta["env"] = f"gym/{ds.spec.env_spec.id}"
    if not parts["rewards"]:
        raise DatasetError(f"dataset {path} holds no episodes")
    return OfflineDataset({k: np.concatenate(v) for k, v in parts.items()}, meta)


def _load_pkl(path: str) -> OfflineDataset:
    """Lu et al.'s layout. Its columns do not say where the observation ends, so `<name>.json` beside
    it gives {"obs_dim": n, "env": "gym/<Id>"}; the action size is what the columns leave. Their D4RL
    converter gave an episode's last row the next episode's first observation, so such episodes
    run together here until a terminal."""
    with open(path, "rb") as f:
        arr = np.asarray(pickle.load(f), np.float64)  # noqa: S301 - a file the user named as data
    side = path[:-4] + ".json"
    meta = json.load(open(side)) if os.path.isfile(side) else {}
    if arr.ndim != 2 or "obs_dim" not in meta:
        raise DatasetError(f"{path}: a Lu et al. array dataset needs {side} with its obs_dim (and env)")
    o = int(meta["obs_dim"])
    a = arr.shape[1] - 2 * o - 2
    if a < 1:
        raise DatasetError(f"{path}: {arr.shape[1]} columns do not fit obs_dim {o}")
    cols = np.split(arr, np.cumsum([o, a, 1, 1]), axis=1)
    return OfflineDataset({"observations": cols[0], "actions": cols[1], "rewards": cols[2], "terminals": cols[3] > 0.5,
                           "timeouts": np.zeros(len(arr), bool), "next_observations": cols[4]}, meta)
