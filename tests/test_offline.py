"""Offline RL: datasets (collect, save, load in every format), D4RL's normalised score, MOPO's penalty
and MOReL's HALT rule on hand-computed ensemble outputs, offline runs (no env steps) and the offline
phase followed by an online one. The registry-wide contract (tests/test_contract.py) covers their
determinism, resume in either phase, NaN guard and bad values."""
import copy
import json
import os
import pickle

import numpy as np
import pytest
import torch

from conftest import run_cli
from experiment_configs import registry
from experiment_configs.base_experiment import experiment
from lifelong_rl.core.logger import load_snapshot
from lifelong_rl.core.schedules import evaluation_row
from lifelong_rl.data_management.datasets import DatasetError, OfflineDataset, load_dataset, minari_available, save_dataset
from lifelong_rl.envs import reference_scores
from lifelong_rl.envs.make_env import make_env
from lifelong_rl.models.dynamics import DynamicsModel, ProbabilisticEnsemble
from lifelong_rl.trainers.mbpo import branched_rollouts
from lifelong_rl.trainers.offline_model_based import MOPOPenalty, MOReLHalt
from lifelong_rl.variants import set_path
from lifelong_rl.samplers.dataset_collection import RandomPolicy, collect

FORMATS = ["npz"] + (["minari"] if minari_available() else [])


def hopper_random(steps=400, length=60):
    env = make_env("gym/Hopper-v5", 3)
    return collect(env, RandomPolicy(env), steps, length)


def test_collected_episodes_keep_terminals_and_timeouts_apart():
    data = hopper_random()
    assert len(data) == 400
    assert data.terminals.any() and data.timeouts.any() and not (data.terminals & data.timeouts).any()
    for a, b in data.episode_bounds():  # within an episode each step starts where the last ended
        np.testing.assert_array_equal(data.observations[a + 1:b], data.next_observations[a:b - 1])
        assert (data.terminals[b - 1] or data.timeouts[b - 1]) and not (data.terminals[a:b - 1] | data.timeouts[a:b - 1]).any()
    assert all(b - a <= 60 for a, b in data.episode_bounds())


def test_every_episode_ends_on_a_terminal_or_a_timeout():
    """Rows that do not continue the previous one (a replay buffer's cut) and the last row end episodes."""
    obs = np.arange(6, dtype=np.float32)[:, None]
    nxt = obs + 1
    nxt[2] = 10.0  # row 3 does not start where row 2 ended
    arrays = dict(observations=obs, next_observations=nxt, actions=np.zeros((6, 1)), rewards=np.ones(6),
                  terminals=np.zeros(6), timeouts=np.zeros(6))
    data = OfflineDataset(arrays)
    assert data.timeouts.tolist() == [False, False, True, False, False, True] and not data.terminals.any()
    assert data.episode_bounds().tolist() == [[0, 3], [3, 6]]
    arrays["terminals"] = np.array([0, 0, 0, 0, 0, 1.0])  # a terminal last row stays terminal, not a timeout
    assert OfflineDataset(arrays).timeouts.tolist() == [False, False, True, False, False, False]


@pytest.mark.parametrize("fmt", FORMATS)
def test_dataset_save_load_round_trip(tmp_path, fmt):
    data = hopper_random()
    data.meta = {"env": "gym/Hopper-v5", "kind": "random"}
    path = save_dataset(data, "hopper-random-v0", str(tmp_path), fmt)
    assert os.path.exists(path)
    back = load_dataset("hopper-random-v0", str(tmp_path))
    for k, v in data.arrays().items():
        np.testing.assert_array_equal(getattr(back, k), v, err_msg=k)
    assert back.meta["env"] == "gym/Hopper-v5" and back.meta["kind"] == "random"
    np.testing.assert_allclose(back.episode_returns(), data.episode_returns(), rtol=1e-6)


def test_lu_et_al_pkl_dataset_loads(tmp_path):
    """Lu et al.'s [N, obs + act + 1 + 1 + obs] array: episodes end at terminals and at rows that do
    not continue the previous one."""
    data = hopper_random(200)
    cols = np.concatenate([data.observations, data.actions, data.rewards[:, None], data.terminals[:, None],
                           data.next_observations], axis=1)
    with open(tmp_path / "lu.pkl", "wb") as f:
        pickle.dump(cols, f)
    (tmp_path / "lu.json").write_text(json.dumps({"obs_dim": 11, "env": "gym/Hopper-v5"}))
    back = load_dataset(str(tmp_path / "lu.pkl"))
    np.testing.assert_array_equal(back.actions, data.actions)
    np.testing.assert_array_equal(back.terminals, data.terminals)
    np.testing.assert_array_equal(back.timeouts, data.timeouts)  # recovered from the breaks between rows


def test_missing_and_corrupt_datasets_are_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_dataset("nothing-here", str(tmp_path))
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    with pytest.raises(DatasetError, match="corrupt"):
        load_dataset("broken", str(tmp_path))


def test_normalized_score(monkeypatch):
    monkeypatch.setitem(reference_scores.REFERENCE_SCORES, "gym/Test-v0", {"random": -20.0, "expert": 380.0})
    assert reference_scores.normalized_score("gym/Test-v0", 180.0) == pytest.approx(50.0)
    assert reference_scores.normalized_score("gym/Test-v0", -20.0) == pytest.approx(0.0)
    assert reference_scores.normalized_score("gym/Unknown-v0", 1.0) is None
    # A MetaWorld reference holds for one run seed's goal only.
    monkeypatch.setitem(reference_scores.REFERENCE_SCORES, "metaworld/test-v3", {"random": 0.0, "expert": 10.0, "run_seed": 0})
    assert reference_scores.normalized_score("metaworld/test-v3", 5.0, run_seed=0) == pytest.approx(50.0)
    assert reference_scores.normalized_score("metaworld/test-v3", 5.0, run_seed=1) is None

    class Collector:
        def collect_episodes(self, n):
            pass

        def get_diagnostics(self, prefix):
            return {prefix + "Average Returns": 580.0}

    row = evaluation_row(Collector(), 1, reference_scores.reference("gym/Test-v0"))
    assert row["evaluation/Normalized Score"] == pytest.approx(150.0)


class FixedEnsemble(ProbabilisticEnsemble):
    """An ensemble whose elites predict given means and variances [M, B, obs + 1] (next-state change
    and reward, real units)."""

    def __init__(self, mean, var):
        super().__init__(obs_dim=mean.shape[-1] - 1, action_dim=1, ensemble_size=mean.shape[0], num_elites=mean.shape[0],
                         hidden_sizes=[4], learn_reward=True, learn_terminal=False)
        self.fixed = mean, var

    def predict(self, obs, act, members=None):
        return self.fixed


def test_mopo_penalty_on_hand_computed_stds():
    # Two elites, two rows, outputs [ds, r]: row 0 stds (0.3, 0.4) and (1.2, 0.5) -> norms 0.5 and 1.3.
    std = torch.tensor([[[0.3, 0.4], [0.0, 0.1]], [[1.2, 0.5], [0.6, 0.8]]])
    ens = FixedEnsemble(torch.zeros(2, 2, 2), std ** 2)
    model = DynamicsModel(ens, termination_fn=lambda o, a, n: torch.zeros(len(o), dtype=torch.bool))
    reward, terminal = MOPOPenalty(2.0)(model, torch.zeros(2, 1), torch.zeros(2, 1), torch.tensor([1.0, 1.0]),
                                        torch.tensor([False, True]))
    # u = max(0.5, 1.3) = 1.3 and max(0.1, 1.0) = 1.0; r - 2 u
    torch.testing.assert_close(reward, torch.tensor([1.0 - 2.6, 1.0 - 2.0]))
    assert terminal.tolist() == [False, True]


def test_morel_halt_on_hand_computed_means():
    # Three elites, outputs [ds_1, ds_2, r]; row 0's next states within 0.1 of each other (max gap
    # sqrt(0.02); the rewards disagree by 9, which MOReL does not look at), row 1 one elite 5 away.
    mean = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.1, 0.0, 0.0], [3.0, 4.0, 0.0]],
                         [[0.0, 0.1, 9.0], [0.0, 0.0, 0.0]]])
    ens = FixedEnsemble(mean, torch.ones_like(mean))
    model = DynamicsModel(ens, termination_fn=lambda o, a, n: torch.zeros(len(o), dtype=torch.bool))
    halt = MOReLHalt(threshold_coef=1.0, kappa=100.0)
    halt.threshold = 1.0
    reward, terminal = halt(model, torch.zeros(2, 2), torch.zeros(2, 1), torch.tensor([0.5, 0.5]), torch.tensor([False, False]))
    torch.testing.assert_close(reward, torch.tensor([0.5, -100.0]))
    assert terminal.tolist() == [False, True]
    assert halt.diagnostics()["model_buffer/MOReL HALT share"] == pytest.approx(0.5)

    class Data:  # the threshold: coef x the largest disagreement on the data's pairs (here max(0.1414, 5))
        observations, actions = np.zeros((2, 2), np.float32), np.zeros((2, 1), np.float32)

        def __len__(self):
            return 2

    calibrated = MOReLHalt(threshold_coef=0.5, kappa=1.0)
    calibrated.prepare(model, Data())
    assert calibrated.threshold == pytest.approx(2.5)


def test_halt_ends_the_model_rollout():
    torch.manual_seed(0)
    ens = ProbabilisticEnsemble(3, 1, 3, 3, [8], learn_reward=True, learn_terminal=False)
    model = DynamicsModel(ens, termination_fn=lambda o, a, n: torch.zeros(len(o), dtype=torch.bool))
    from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy

    policy = TanhGaussianPolicy(3, 1, [8])
    halt = MOReLHalt(1.0, kappa=7.0)
    halt.threshold = -1.0  # every pair is unknown: each rollout is one step into HALT
    data = branched_rollouts(model, policy, torch.zeros(5, 3), 4, halt)
    assert len(data["rewards"]) == 5 and (data["rewards"] == -7.0).all() and (data["terminals"] == 1.0).all()
    halt.threshold = float("inf")  # none is: every rollout runs its 4 steps
    assert len(branched_rollouts(model, policy, torch.zeros(5, 3), 4, halt)["rewards"]) == 20


def quick(name, **overrides):
    v = registry.default_variant(name)
    for k, val in registry.quick_overrides(name).items():
        set_path(v, k, copy.deepcopy(val))
    for k, val in overrides.items():
        set_path(v, k, val)
    v["logging"].update(progress_bar=False, snapshot_mode="all")
    return registry.validate(v)


def test_an_offline_run_steps_no_exploration_env(tmp_path):
    loop = experiment(quick("mopo"), str(tmp_path / "run"))
    assert [p.phase for p in loop.phases] == ["offline_"]
    offline = loop.phases[0].schedule
    assert offline.env_steps_total() == 0 and offline.updates == 2 * 20
    assert len(offline.buffer) == len(load_dataset("examples/pendulum-random-v0"))  # nothing added
    online = offline.model  # the online phase's schedule, built but never run
    assert online.env_steps == 0 and online.collectors[0].num_steps_total == 0
    assert not os.path.exists(tmp_path / "run" / "progress.csv")
    assert load_snapshot(str(tmp_path / "run" / "offline_params.pt"))["phase"] == "offline_"


def test_the_online_phase_continues_the_offline_networks(tmp_path, monkeypatch):
    from lifelong_rl.core.schedules import ModelBasedSchedule

    seen = {}
    start = ModelBasedSchedule.start

    def start_online(self):
        seen["policy"] = {k: v.clone() for k, v in self.trainer.policy_trainer.policy.state_dict().items()}
        seen["buffer"] = len(self.buffer)
        start(self)

    monkeypatch.setattr(ModelBasedSchedule, "start", start_online)
    d = tmp_path / "run"
    loop = experiment(quick("mopo", **{"algorithm_kwargs/num_epochs": 2}), str(d))
    offline, online = loop.phases
    assert offline.trainer is online.trainer and offline.schedule.buffer is online.schedule.buffer
    last_offline = load_snapshot(str(d / "offline_params.pt"))["trainer"]["policy"]["policy"]
    for k, v in seen["policy"].items():
        torch.testing.assert_close(v, last_offline[k])  # the online phase starts from the offline weights
    assert seen["buffer"] == 1000  # and from the dataset in the buffer
    assert online.schedule.env_steps == 200 and len(online.schedule.buffer) == 1200
    assert (d / "offline_progress.csv").read_text().count("\n") == 3 and (d / "progress.csv").read_text().count("\n") == 3


@pytest.mark.parametrize("problem", ["missing", "corrupt", "sizes", "env"])
def test_bad_datasets_exit_2_before_a_run_dir(tmp_path, problem):
    if problem == "missing":
        data, env = "no-such-dataset", "gym/Pendulum-v1"
    elif problem == "corrupt":
        (tmp_path / "bad.npz").write_bytes(b"\x00" * 64)
        data, env = str(tmp_path / "bad.npz"), "gym/Pendulum-v1"
    elif problem == "sizes":
        data, env = "examples/pendulum-random-v0", "gym/InvertedPendulum-v5"  # 4-d observations, not 3
    else:  # the sizes fit, the env does not
        other = load_dataset("examples/pendulum-random-v0")
        other.meta["env"] = "gym/Other-v0"
        data, env = save_dataset(other, "other", str(tmp_path), "npz"), "gym/Pendulum-v1"
    logs = tmp_path / "logs"
    r = run_cli("run_scripts/bc.py", "--quick", "--log-dir", str(logs), "--env", env,
                "--set", f"offline_kwargs/teacher_data_files={data}")
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1, err
    assert {"missing": "not found", "corrupt": "corrupt", "sizes": "observations of size 3",
            "env": "is of gym/Other-v0, not gym/Pendulum-v1"}[problem] in err
    assert not logs.exists()


def test_collect_dataset_cli(tmp_path):
    """A replay-kind dataset holds the snapshot's buffer as it was written; bad input is exit 2."""
    from conftest import tiny_variant

    run = tmp_path / "sac"
    experiment(tiny_variant(epochs=1), str(run))
    root = tmp_path / "data"
    r = run_cli("scripts/collect_dataset.py", "--kind", "replay", "--snapshot", str(run / "params.pt"), "--steps", "0",
                "--name", "pendulum-replay-v0", "--root", str(root))
    assert r.returncode == 0, r.stderr
    data = load_dataset("pendulum-replay-v0", str(root))
    buf = load_snapshot(str(run / "params.pt"))["schedule"]["buffer"]["data"]
    np.testing.assert_array_equal(data.observations, buf["observations"].numpy())
    np.testing.assert_array_equal(data.terminals, buf["terminals"].numpy()[:, 0] > 0)
    assert data.meta["env"] == "gym/Pendulum-v1" and data.meta["kind"] == "replay"
    for args, needle in ((["--kind", "policy", "--snapshot", str(tmp_path / "none.pt"), "--name", "new-v0"], "not found"),
                         (["--kind", "random", "--env", "gym/NoSuchEnv-v0", "--name", "new-v0"], "NoSuchEnv"),
                         (["--kind", "replay", "--snapshot", str(run / "params.pt"), "--name", "pendulum-replay-v0"], "exists")):
        r = run_cli("scripts/collect_dataset.py", *args, "--root", str(root))
        assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert sorted(os.listdir(root)) == ["pendulum-replay-v0"]  # nothing else written


def test_resume_of_a_run_killed_between_its_phases(tmp_path):
    """`--resume RUN_DIR` finds the offline phase's last snapshot and runs the online phase: the same
    tables as the uninterrupted run (a resume inside the offline phase: tests/test_contract.py)."""
    import shutil

    v = quick("mopo", **{"algorithm_kwargs/num_epochs": 2})
    a, c = tmp_path / "a", tmp_path / "c"
    experiment(v, str(a))
    shutil.copytree(a, c)
    for name in ("offline_params.pt", "itr_0.pt", "itr_1.pt", "params.pt", "progress.csv", "timings.csv"):
        os.remove(c / name)  # killed after the offline phase's last snapshot, before the online phase's first
    r = run_cli("run_scripts/mopo.py", "--resume", str(c), "--no-progress")
    assert r.returncode == 0, r.stderr
    for table in ("offline_progress.csv", "progress.csv"):
        assert (c / table).read_bytes() == (a / table).read_bytes(), table
    r = run_cli("run_scripts/mopo.py", "--resume", str(c))
    assert r.returncode == 0 and "already finished" in r.stdout


def test_a_resume_refuses_datasets_changed_since_the_run_started(tmp_path):
    from lifelong_rl.core.logger import SnapshotError

    data = load_dataset("examples/pendulum-random-v0")
    path = save_dataset(data, "mine", str(tmp_path), "npz")
    v = quick("bc", **{"offline_kwargs/teacher_data_files": [path]})
    experiment(v, str(tmp_path / "run"))
    save_dataset(data.head(500), "mine", str(tmp_path), "npz")
    from experiment_configs.algorithms import offline

    offline._CACHE.clear()  # a new process would read the file again
    with pytest.raises(SnapshotError, match="is not what it started with"):
        experiment(v, str(tmp_path / "run"), resume_from=str(tmp_path / "run" / "offline_itr_0.pt"))
