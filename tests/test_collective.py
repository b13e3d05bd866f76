"""The collective learning framework (issue 20): masking, the contrastive loss, windows, the shaping
bonus and its schedule, distillation onto a known teacher, and the pipeline's order, skipping and
resume (run_scripts/collective.py)."""
import math
import os

import numpy as np
import pytest
import torch

from conftest import ROOT, run_cli
from lifelong_rl.core.logger import load_snapshot
from lifelong_rl.data_management.datasets import OfflineDataset, load_dataset, save_dataset
from lifelong_rl.envs.trajectory_window import TaskEmbeddingWrapper
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.models.trajectory_transformer import TrajectoryTransformer, WindowBatch, window_at
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from lifelong_rl.trainers.collective import (DistillationTrainer, ShapedSACTrainer, ShapingWeight, info_nce,
                                             mask_tokens, masked_mse, nearest_centroid_accuracy, shaping_bonus)
from lifelong_rl.trainers.sac import SACTrainer


# -- windows and masking ------------------------------------------------------------------------------
def test_windows_are_right_aligned_and_padded():
    states = np.arange(6, dtype=np.float32).reshape(6, 1) * 10  # s_0 .. s_5
    actions = np.arange(5, dtype=np.float32).reshape(5, 1)
    rewards = np.arange(5, dtype=np.float32) + 0.5
    w = window_at(states, actions, rewards, 0, 3)  # only s_0
    assert w.valid.tolist() == [False, False, False, True] and w.states[-1, 0] == 0 and not w.actions.any()
    w = window_at(states, actions, rewards, 2, 3)  # s_0 a_0 r_0 s_1 a_1 r_1 s_2
    assert w.valid.tolist() == [False, True, True, True]
    assert w.states[:, 0].tolist() == [0, 0, 10, 20] and w.actions[:, 0].tolist() == [0, 0, 1]
    assert w.rewards[:, 0].tolist() == [0, 0.5, 1.5]
    w = window_at(states, actions, rewards, 5, 3)  # the last 3 transitions
    assert w.valid.all() and w.states[:, 0].tolist() == [20, 30, 40, 50] and w.actions[:, 0].tolist() == [2, 3, 4]


def test_masking_chooses_only_valid_tokens_and_at_least_one():
    torch.manual_seed(0)
    x = torch.ones(3, 5, 2)
    valid = torch.tensor([[False, False, True, True, True], [True] * 5, [False] * 5])
    _, chosen = mask_tokens(x, valid, 0.0)  # nothing drawn: the last valid token is forced
    assert chosen.tolist() == [[False] * 4 + [True], [False] * 4 + [True], [False] * 5]
    out, chosen = mask_tokens(torch.ones(200, 5, 2), torch.ones(200, 5, dtype=torch.bool), 1.0)
    assert chosen.all()
    zeros = (out == 0).all(-1).float().mean()
    kept = (out == 1).all(-1).float().mean()
    assert 0.75 < zeros < 0.85 and 0.06 < kept < 0.14  # 80 % zeroed, 10 % kept, 10 % noise
    _, chosen = mask_tokens(x, valid, 1.0)
    assert not (chosen & ~valid).any()


def test_reconstruction_counts_only_chosen_tokens():
    pred, target = torch.zeros(1, 3, 2), torch.tensor([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]])
    chosen = torch.tensor([[False, True, False]])
    assert masked_mse(pred, target, chosen).item() == pytest.approx(4.0)
    assert masked_mse(pred, target, torch.zeros(1, 3, dtype=torch.bool)).item() == 0.0


def test_info_nce_takes_only_other_tasks_as_negatives():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    tasks = torch.tensor([0, 0, 1, 1])
    tau = 0.5
    # Each row: its positive (cos 1) against the two windows of the other task (cos 0); the other
    # window of its own task (cos 1) is no negative.
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2 * math.exp(0.0)))
    assert info_nce(z, z, tasks, tau).item() == pytest.approx(expected, rel=1e-5)
    # Counted as a negative, the same-task window would raise the loss.
    with_same = -math.log(math.exp(1 / tau) / (2 * math.exp(1 / tau) + 2 * math.exp(0.0)))
    assert info_nce(z, z, torch.arange(4), tau).item() == pytest.approx(with_same, rel=1e-5)
    # Views that disagree cost more than views that agree.
    assert info_nce(z, z.flip(0), torch.arange(4), tau) > info_nce(z, z, torch.arange(4), tau)


def test_nearest_centroid_accuracy():
    train = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    test = np.array([[1.0, 0.05], [0.05, 1.0], [1.0, 0.0]])
    assert nearest_centroid_accuracy(train, np.array([0, 0, 1, 1]), test, np.array([0, 1, 1])) == pytest.approx(2 / 3)


# -- shaping -----------------------------------------------------------------------------------------
def test_shaping_bonus_is_one_at_the_mode_and_a_gaussian_ratio_elsewhere():
    mean, std = torch.tensor([[0.3, -0.2]]), torch.tensor([[0.5, 0.1]])
    mode = torch.tanh(mean)
    assert shaping_bonus(mean, std, mode).item() == pytest.approx(1.0)
    a = mode + torch.tensor([[0.5, 0.1]])  # one std off in each dimension
    assert shaping_bonus(mean, std, a).item() == pytest.approx(math.exp(-1.0), rel=1e-5)
    assert 0 < shaping_bonus(mean, std, -mode).item() < 1
    # A floor on sigma widens the bonus: one unit off in the first dimension, sigma floored at 1.
    a = mode + torch.tensor([[1.0, 0.0]])
    assert shaping_bonus(mean, std, a, min_std=1.0).item() == pytest.approx(math.exp(-0.5), rel=1e-5)


def test_shaping_weight_schedule():
    w = ShapingWeight()
    assert [w(t) for t in (0, 8000, 29000, 50000, 60000)] == pytest.approx([1.0, 1.0, 0.5, 0.0, 0.0])
    assert ShapingWeight(2.0, 0, 10)(5) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ShapingWeight(1.0, 10, 10)


def test_shaped_sac_target_is_sac_on_the_shaped_reward():
    torch.manual_seed(0)
    obs_dim, act = 3, 2
    batch = {"observations": torch.randn(8, obs_dim), "actions": torch.rand(8, act) * 2 - 1, "rewards": torch.randn(8, 1),
             "next_observations": torch.randn(8, obs_dim), "terminals": torch.zeros(8, 1), "shaping_bonus": torch.rand(8, 1)}

    def make(cls, **kw):
        torch.manual_seed(1)
        return cls(TanhGaussianPolicy(obs_dim, act, [8]), ParallelizedEnsemble(2, obs_dim + act, 1, [8]), act, **kw)

    shaped = make(ShapedSACTrainer, weight=ShapingWeight(1.0, 8000, 50000))
    shaped.env_steps = 29000  # w = 0.5
    plain = make(SACTrainer)
    torch.manual_seed(2)
    a = shaped.compute_losses(batch)
    torch.manual_seed(2)
    b = plain.compute_losses({**batch, "rewards": batch["rewards"] + 0.5 * batch["shaping_bonus"]})
    assert torch.allclose(a["q_target"], b["q_target"]) and a["shaping_weight"].item() == 0.5


# -- distillation ------------------------------------------------------------------------------------
def test_distillation_matches_a_linear_gaussian_teacher():
    """The actor's squashed mean and log-std converge to a teacher N(W s, exp(c)^2)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    W = torch.tensor([[0.4, -0.2, 0.1], [0.0, 0.3, -0.3]])
    log_std = torch.tensor([-1.0, -2.0])
    policy = TanhGaussianPolicy(3, 2, [64, 64])
    trainer = DistillationTrainer(policy, ParallelizedEnsemble(2, 5, 1, [16]), policy_lr=3e-3)
    for _ in range(1500):
        s = torch.as_tensor(rng.uniform(-1, 1, (256, 3)), dtype=torch.float32)
        trainer.train_from_torch({"observations": s, "next_observations": s, "actions": torch.zeros(256, 2),
                                  "rewards": torch.zeros(256, 1), "terminals": torch.ones(256, 1),
                                  "expert_means": s @ W.T, "expert_log_stds": log_std.expand(256, 2)})
    s = torch.as_tensor(rng.uniform(-1, 1, (500, 3)), dtype=torch.float32)
    with torch.no_grad():
        dist = policy(s)
    assert (torch.tanh(dist.mean) - s @ W.T).abs().max() < 0.05
    assert (dist.std.log() - log_std).abs().max() < 0.1


def test_distillation_critic_target_has_reward_and_discount():
    torch.manual_seed(0)
    trainer = DistillationTrainer(TanhGaussianPolicy(2, 1, [8]), ParallelizedEnsemble(2, 3, 1, [8]), discount=0.9, alpha=0.0)
    trainer.target_qfs = lambda x: torch.full((2, len(x), 1), 5.0)  # Q'(s', a') = 5 for any a'
    batch = {"observations": torch.zeros(4, 2), "next_observations": torch.zeros(4, 2), "actions": torch.zeros(4, 1),
             "rewards": torch.tensor([[1.0], [2.0], [3.0], [4.0]]), "terminals": torch.tensor([[0.0], [1.0], [0.0], [1.0]]),
             "expert_means": torch.zeros(4, 1), "expert_log_stds": torch.zeros(4, 1)}
    q_next = 5.0
    q = trainer.qfs(torch.cat([batch["observations"], batch["actions"]], -1))
    expected = ((q - (batch["rewards"] + 0.9 * (1 - batch["terminals"]) * q_next)) ** 2).mean(dim=(-2, -1)).sum()
    assert trainer.compute_losses(batch)["qf_loss"].item() == pytest.approx(expected.item(), rel=1e-5)


# -- acting ------------------------------------------------------------------------------------------
def test_embedding_at_acting_time_is_the_windows_embedding():
    from lifelong_rl.envs.make_env import make_env

    torch.manual_seed(0)
    model = TrajectoryTransformer(39, 4, window=3, d_model=8, n_heads=2, n_layers=1, ffn_dim=16, embedding_dim=2)
    env = TaskEmbeddingWrapper(make_env("metaworld/reach-v3", 0, max_path_length=20), model)
    obs, _ = env.reset()
    states, actions, rewards = [obs[2:]], [], []
    rng = np.random.default_rng(0)
    for t in range(6):
        w = window_at(np.stack(states), np.asarray(actions, np.float32).reshape(-1, 4), np.asarray(rewards, np.float32), t, 3)
        e = model.embed(WindowBatch(*(x[None] for x in w)))[0]
        assert np.allclose(obs[:2], e, atol=1e-6)
        a = rng.uniform(-1, 1, 4).astype(np.float32)
        obs, r, *_ = env.step(a)
        states.append(obs[2:])
        actions.append(a)
        rewards.append(r)
    assert env.observation_space.shape == (41,)


def test_trajectories_keep_the_experts_distribution(tmp_path):
    n = 6
    arrays = {"observations": np.random.rand(n, 3), "actions": np.random.rand(n, 2), "rewards": np.random.rand(n),
              "next_observations": np.random.rand(n, 3), "terminals": np.zeros(n), "timeouts": np.eye(n)[n - 1],
              "expert_means": np.random.rand(n, 2), "expert_log_stds": np.random.rand(n, 2)}
    data = OfflineDataset(arrays, {"env": "x"})
    path = save_dataset(data, "traj", root=str(tmp_path))  # extra arrays: npz
    back = load_dataset(path)
    assert path.endswith(".npz") and np.allclose(back.extras["expert_means"], arrays["expert_means"])
    assert np.allclose(back.head(3).extras["expert_log_stds"], arrays["expert_log_stds"][:3])


# -- the pipeline -------------------------------------------------------------------------------------
TASKS = "reach-v3,button-press-topdown-v3"


def pipeline(*args):
    return run_cli("run_scripts/collective.py", *args, timeout=600)


def test_quick_pipeline_end_to_end_skips_and_resumes(tmp_path):
    d = str(tmp_path / "p")
    r = pipeline("--quick", "--tasks", TASKS, "--student-tasks", "reach-v3", "--finetune-task", "drawer-open-v3",
                 "--baseline", "--dir", d, "--set", "transformer:logging/snapshot_mode=all",
                 "--set", "student:shaping/start_weight=0.5")
    assert r.returncode == 0, r.stderr[-2000:]
    for out in ("experts/reach-v3/trajectories.npz", "transformer/transformer.pt", "distill/collective.pt",
                "evaluate/results.json", "student/results.json", "finetune/results.json", "finetune/success_matrix.csv"):
        assert os.path.isfile(os.path.join(d, out)), out
    import json

    with open(os.path.join(d, "student", "results.json")) as f:
        assert set(json.load(f)["reach-v3"]) == {"shaped", "scratch"}
    for kind, weight in (("shaped", 0.5), ("scratch", 0.0)):  # the baseline stays unshaped whatever --set says
        with open(os.path.join(d, "student", "reach-v3", kind, "variant.json")) as f:
            assert json.load(f)["shaping"]["start_weight"] == weight
    with open(os.path.join(d, "finetune", "results.json")) as f:
        ft = json.load(f)
    assert ft["tasks"] == ["reach-v3", "button-press-topdown-v3", "drawer-open-v3"]
    assert ft["forgetting"]["reach-v3"] == pytest.approx(ft["success_before"][0] - ft["success_after"][0])

    # Again: every stage skipped.
    r = pipeline("--dir", d)
    assert r.returncode == 0 and r.stdout.count("skipped") == 6, r.stdout

    # Killed during the transformer stage after its first epoch: the stage resumes to the same table.
    t = os.path.join(d, "transformer")
    with open(os.path.join(t, "progress.csv"), "rb") as f:
        table = f.read()
    for name in ("transformer.pt", "params.pt", "itr_1.pt"):
        os.remove(os.path.join(t, name))
    assert load_snapshot(os.path.join(t, "itr_0.pt"))["epoch"] == 0
    r = pipeline("--dir", d, "--stage", "transformer")
    assert r.returncode == 0 and "resumed after epoch 0" in r.stdout + r.stderr, r.stderr[-2000:]
    with open(os.path.join(t, "progress.csv"), "rb") as f:
        assert f.read() == table
    assert os.path.isfile(os.path.join(t, "transformer.pt"))


def test_sac_experts_are_trained_through_the_launcher_then_recorded(tmp_path):
    d = str(tmp_path / "p")
    r = pipeline("--quick", "--tasks", TASKS, "--expert", "sac", "--dir", d, "--stage", "experts")
    assert r.returncode == 0, r.stderr[-2000:]
    for task in TASKS.split(","):
        assert load_snapshot(os.path.join(d, "experts", task, "sac", "params.pt"))["variant"]["env"] == f"metaworld/{task}"
        data = load_dataset(os.path.join(d, "experts", task, "trajectories.npz"))
        assert data.meta["kind"] == "sac expert" and len(data) == 3 * 30
        assert np.all(np.abs(data.extras["expert_means"]) < 1) and np.all(data.extras["expert_log_stds"] < 2)


def test_stage_before_its_inputs_is_refused(tmp_path):
    d = str(tmp_path / "p")
    r = pipeline("--quick", "--tasks", TASKS, "--dir", d, "--stage", "distill")
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and "needs the output of stage 'experts'" in err, err
    assert not os.path.exists(d)
    r = pipeline("--quick", "--tasks", TASKS, "--dir", d, "--stage", "experts")
    assert r.returncode == 0, r.stderr[-2000:]
    r = pipeline("--dir", d, "--stage", "student")
    assert r.returncode == 2 and "stage 'student' needs the output of stage 'transformer'" in r.stderr
    assert not os.path.exists(os.path.join(d, "transformer")) and not os.path.exists(os.path.join(d, "student"))


@pytest.mark.parametrize("args,needle", [
    (["--tasks", "reach-v3"], "at least 2 MetaWorld tasks"),
    (["--tasks", "reach-v3,nope-v3"], "unknown MetaWorld task 'nope-v3'"),
    (["--tasks", TASKS, "--set", "student:trainer_kwargs/policy_lr=x"], "bad value 'x'"),
    (["--tasks", TASKS, "--set", "nostage:a=1"], "STAGE:KEY=VALUE"),
    (["--tasks", TASKS, "--finetune-task", "reach-v3"], "finetuning is on a new task"),
    (["--tasks", TASKS, "--stage", "finetune"], "stage 'finetune' needs the output of stage 'experts'"),
    (["--tasks", TASKS, "--set", "distill:logging/snapshot_mode=none"], "resumes and exports"),
    (["--tasks", TASKS, "--set", "transformer:transformer_kwargs/n_heads=5"], "must divide"),
    (["--tasks", TASKS, "--set", "student:shaping/zero_at=10"], "must be after"),
    (["--tasks", TASKS, "--set", "distill:transformer=/x.pt"], "the pipeline sets transformer itself"),
    (["--tasks", TASKS, "--set", "experts:seed=3"], "the pipeline sets seed itself"),
    (["--tasks", TASKS, "--set", "experts:trainer_kwargs/policy_lr=0.1"], "the experts are scripted"),
    (["--tasks", "reach-v3,reach-v3,push-v3"], "names reach-v3 more than once"),
])
def test_bad_pipeline_input_is_one_line_and_writes_nothing(tmp_path, args, needle):
    d = str(tmp_path / "p")
    r = pipeline("--quick", "--dir", d, *args)
    err = r.stderr.strip()
    assert r.returncode == 2 and needle in err and len(err.splitlines()) == 1, err
    assert not os.path.exists(d)


def test_changed_settings_are_refused_but_later_stages_may_be_added(tmp_path):
    d = str(tmp_path / "p")
    assert pipeline("--quick", "--tasks", TASKS, "--dir", d, "--stage", "experts").returncode == 0
    r = pipeline("--dir", d, "--tasks", "reach-v3,push-v3")
    assert r.returncode == 2 and "was started with other settings" in r.stderr
    assert pipeline("--dir", d, "--stage", "experts", "--student-tasks", "reach-v3").returncode == 0
    import json

    with open(os.path.join(d, "pipeline.json")) as f:
        assert json.load(f)["student_tasks"] == ["reach-v3"]


def test_examples_are_the_quick_pipelines():
    """The committed examples (agent_data/examples/collective/) load with this version's code."""
    from experiment_configs.algorithms.collective import check_inputs, load_trajectories

    ex = os.path.join(ROOT, "agent_data", "examples", "collective")
    transformer, policy = check_inputs({"collective": {"transformer": os.path.join(ex, "transformer.pt"),
                                                       "policy": os.path.join(ex, "collective.pt")},
                                        "env": "metaworld/reach-v3"}, (39, 4))
    data = load_trajectories([os.path.join(ex, "reach-v3.npz"), os.path.join(ex, "button-press-topdown-v3.npz")])
    assert policy.obs_dim == transformer.embedding_dim + data[0].obs_dim
    # A scripted expert's record: its clean action as the mean, the action taken that plus N(0, 0.1^2), clipped.
    d = data[0]
    inside = np.abs(d.actions) < 1
    assert np.allclose(d.extras["expert_log_stds"], np.log(0.1))
    assert 0.07 < np.std((d.actions - d.extras["expert_means"])[inside]) < 0.13
