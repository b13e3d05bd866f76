import math

import numpy as np
import pytest
import torch

from lifelong_rl.data_management.fields import transition_fields
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.envs.make_env import make_env
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import StochasticPolicy, TanhGaussianPolicy
from lifelong_rl.samplers.collectors import StepCollector
from lifelong_rl.trainers.sac import SACTrainer

O, A = 3, 2


def _trainer(**kw):
    torch.manual_seed(0)
    return SACTrainer(TanhGaussianPolicy(O, A, [8]), ParallelizedEnsemble(2, O + A, 1, [8]), A, **kw)


def test_target_bootstraps_through_truncation_not_termination():
    """Hand-computed: min target Q = 3, alpha = 0.5, log pi(a'|s') = -1, gamma = 0.9.
    y = r + gamma * (1 - done) * (3 - 0.5 * -1) = r + 0.9 * 3.5 unless terminated."""
    tr = _trainer(discount=0.9, alpha=0.5)
    B = 3
    tr.target_qfs = lambda x: torch.stack([torch.full((x.shape[0], 1), 5.0), torch.full((x.shape[0], 1), 3.0)])
    real_sample = tr.policy.sample

    def sample(obs):
        a, lp = real_sample(obs)
        return a, torch.full_like(lp, -1.0)

    tr.policy.sample = sample
    batch = {
        "observations": torch.zeros(B, O), "actions": torch.zeros(B, A), "next_observations": torch.ones(B, O),
        "rewards": torch.tensor([[1.0], [2.0], [-1.0]]),
        # row 0: ordinary step; row 1: truncated by the time limit (not a terminal); row 2: terminated.
        "terminals": torch.tensor([[0.0], [0.0], [1.0]]),
    }
    y = tr.compute_losses(batch)["q_target"].squeeze(-1)
    assert torch.allclose(y, torch.tensor([1.0 + 0.9 * 3.5, 2.0 + 0.9 * 3.5, -1.0]))


def test_losses_match_the_equations():
    tr = _trainer(alpha=0.7, reward_scale=2.0)
    torch.manual_seed(1)
    B = 5
    batch = {"observations": torch.randn(B, O), "actions": torch.rand(B, A) * 2 - 1, "next_observations": torch.randn(B, O),
             "rewards": torch.randn(B, 1), "terminals": (torch.rand(B, 1) < 0.3).float()}
    out = tr.compute_losses(batch)
    q = tr.qfs(torch.cat([batch["observations"], batch["actions"]], -1))
    expected_qf = sum(((q[j] - out["q_target"]) ** 2).mean() for j in range(2))
    assert out["qf_loss"].item() == pytest.approx(expected_qf.item(), rel=1e-6)
    assert out["alpha"].item() == pytest.approx(0.7, rel=1e-6)
    expected_alpha_loss = -(math.log(0.7) * (out["log_pi"] + tr.target_entropy)).mean()
    assert out["alpha_loss"].item() == pytest.approx(expected_alpha_loss.item(), rel=1e-5)
    assert tr.target_entropy == -A


def test_actor_step_leaves_critic_weights_alone():
    tr = _trainer()
    batch = {"observations": torch.randn(4, O), "actions": torch.zeros(4, A), "next_observations": torch.randn(4, O),
             "rewards": torch.zeros(4, 1), "terminals": torch.zeros(4, 1)}
    out = tr.compute_losses(batch)
    out["policy_loss"].backward()
    assert all(p.grad is None for p in tr.qfs.parameters())
    assert any(p.grad is not None for p in tr.policy.parameters())


def test_train_step_moves_targets_by_tau_and_counts():
    tr = _trainer(soft_target_tau=0.5)
    before_t = [p.clone() for p in tr.target_qfs.parameters()]
    batch = {"observations": torch.randn(8, O), "actions": torch.zeros(8, A), "next_observations": torch.randn(8, O),
             "rewards": torch.ones(8, 1), "terminals": torch.zeros(8, 1)}
    tr.train_from_torch(batch)
    for t0, t1, q in zip(before_t, tr.target_qfs.parameters(), tr.qfs.parameters()):
        assert torch.allclose(t1, 0.5 * t0 + 0.5 * q, atol=1e-6)
    assert tr.get_diagnostics()["Num Train Steps"] == 1 and tr.losses_finite()


def test_collector_stores_truncation_as_timeout_and_termination_as_terminal():
    env = make_env("gym/Pendulum-v1", seed=0, max_path_length=5)  # never terminates, truncates at 5
    buf = ReplayBuffer(100, transition_fields(3, 1))
    pol = StochasticPolicy(TanhGaussianPolicy(3, 1, [8]))
    col = StepCollector(env, pol, 5)
    for _ in range(10):
        col.collect_one_step(buf)
    assert buf.terminals[:10].sum() == 0
    assert buf.timeouts[:10, 0].tolist() == [0, 0, 0, 0, 1] * 2

    env = make_env("gym/InvertedPendulum-v5", seed=0)  # terminates when the pole falls
    buf = ReplayBuffer(2000, transition_fields(4, 1))
    col = StepCollector(env, StochasticPolicy(TanhGaussianPolicy(4, 1, [8])), 1000)
    for _ in range(200):
        col.collect_one_step(buf, random_action=True)
    ends = np.flatnonzero(buf.terminals[:200, 0])
    assert len(ends) >= 2 and buf.timeouts[:200].sum() == 0
    # After a terminal the next stored observation starts a new episode (reset happened).
    assert not np.allclose(buf.observations[ends[0] + 1], buf.next_observations[ends[0]])
