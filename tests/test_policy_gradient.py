"""PPO, NPG, VPG (lifelong_rl/trainers/policy_gradient.py), the running normaliser and the vector
collector's rollouts, against hand computations and known cases."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from lifelong_rl.data_management.fields import Field
from lifelong_rl.data_management.normalizer import Normalizer, RunningMeanStd
from lifelong_rl.data_management.rollout_buffer import RolloutBuffer, rollout_fields
from lifelong_rl.models.networks import Mlp
from lifelong_rl.policies.gaussian_policy import ActorCritic, GaussianPolicy
from lifelong_rl.samplers.vector_collector import VectorCollector, make_vector_env
from lifelong_rl.trainers.policy_gradient import NPGTrainer, PPOTrainer, VPGTrainer, conjugate_gradient

O, A = 3, 2


def _nets(seed=0):
    torch.manual_seed(seed)
    return GaussianPolicy(O, A, [16]), Mlp(O, 1, [16], "tanh")


def test_ppo_clipped_objective_inside_and_outside_the_clip_range():
    """Ratios 1.1 (inside 1 +- 0.2), 1.5 and 0.5 (outside), with advantages +1, +1, -1 (no
    normalisation): min(r A, clip(r) A) = 1.1, 1.2, -0.8 -> L_clip = -(1.1 + 1.2 - 0.8) / 3."""
    policy, vf = _nets()
    tr = PPOTrainer(policy, vf, clip_range=0.2, normalize_advantage=False, vf_coef=0.5, ent_coef=0.01)
    obs, actions = torch.randn(3, O), torch.randn(3, A)
    with torch.no_grad():
        log_prob = policy.log_prob(obs, actions)
    ratios = torch.tensor([1.1, 1.5, 0.5])
    batch = {"observations": obs, "actions": actions, "log_probs": log_prob - ratios.log(),
             "advantages": torch.tensor([1.0, 1.0, -1.0]), "returns": torch.tensor([0.5, -0.5, 2.0])}
    losses = tr.compute_losses(batch)
    assert losses["policy_loss"].item() == pytest.approx(-(1.1 + 1.2 - 0.8) / 3, rel=1e-5)
    assert losses["clip_fraction"].item() == pytest.approx(2 / 3)
    with torch.no_grad():
        v = vf(obs)[:, 0]
        entropy = policy(obs).entropy().sum(-1).mean()
    assert losses["vf_loss"].item() == pytest.approx(float(((v - batch["returns"]) ** 2).mean()), rel=1e-5)
    total = losses["policy_loss"] + 0.5 * losses["vf_loss"] - 0.01 * entropy
    assert losses["loss"].item() == pytest.approx(total.item(), rel=1e-5)
    # the clipped branches carry no gradient: with only the ratio-1.5 sample (A > 0, clipped) the
    # policy's gradient is zero
    one = {k: v[1:2] for k, v in batch.items()}
    tr.policy.zero_grad()
    tr.compute_losses(one)["policy_loss"].backward()
    assert all(p.grad is None or not p.grad.any() for p in tr.policy.parameters())


def test_conjugate_gradient_solves_a_known_spd_system():
    g = torch.Generator().manual_seed(0)
    m = torch.randn(6, 6, generator=g, dtype=torch.float64)
    a = m @ m.T + 6 * torch.eye(6, dtype=torch.float64)
    b = torch.randn(6, generator=g, dtype=torch.float64)
    x = conjugate_gradient(lambda v: a @ v, b, iters=6)
    torch.testing.assert_close(x, torch.linalg.solve(a, b))


def _rollout_batch(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"observations": torch.randn(n, O, generator=g), "actions": torch.randn(n, A, generator=g),
            "advantages": torch.randn(n, generator=g), "returns": torch.randn(n, generator=g)}


def test_npg_step_has_the_kl_size_it_asks_for():
    """sqrt(2 delta / x.Fx) x is the step whose quadratic KL model is delta: the measured KL
    matches delta to first order (its relative error shrinks with delta), and the surrogate rises."""
    errors = []
    for delta in (1e-3, 1e-4):
        policy, vf = _nets()
        tr = NPGTrainer(policy, vf, step_size=delta, cg_iters=15, cg_damping=1e-4)
        batch = _rollout_batch()
        before = tr.compute_losses(batch)["policy_loss"].item()
        kl = tr.natural_step(batch)["kl"].item()
        errors.append(abs(kl - delta) / delta)
        assert tr.compute_losses(batch)["policy_loss"].item() < before
    assert errors[0] < 0.15 and errors[1] < errors[0] / 2, errors


def test_vpg_step_follows_the_policy_gradient():
    policy, vf = _nets()
    tr = VPGTrainer(policy, vf, policy_lr=1e-2, normalize_advantage=False)
    batch = _rollout_batch()
    before = tr.compute_losses(batch)["policy_loss"]
    expected = -(policy.log_prob(batch["observations"], batch["actions"]) * batch["advantages"]).mean()
    assert before.item() == pytest.approx(expected.item(), rel=1e-6)
    tr.train_from_torch(batch)
    assert tr.compute_losses(batch)["policy_loss"].item() < before.item()


def test_running_mean_std_matches_numpy_and_the_normaliser_formula():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, size=(500, 4))
    rms = RunningMeanStd((4,))
    for chunk in np.array_split(data, 7):
        rms.update(chunk)
    np.testing.assert_allclose(rms.mean, data.mean(0), rtol=1e-3)
    np.testing.assert_allclose(rms.var, data.var(0), rtol=1e-3)
    norm = Normalizer(4, 2, gamma=0.9, clip_obs=10.0, clip_reward=10.0)
    norm.obs_rms = rms
    x = norm.observations(data[:2])
    np.testing.assert_allclose(x, np.clip((data[:2] - rms.mean) / np.sqrt(rms.var + 1e-8), -10, 10), rtol=1e-5)
    # rewards: R <- 0.9 R + r per env, scaled by the running std of R, R reset at episode ends
    r1 = norm.rewards(np.array([1.0, 2.0]), np.array([False, True]))
    assert norm.returns.tolist() == [1.0, 0.0]
    np.testing.assert_allclose(r1, np.array([1.0, 2.0]) / np.sqrt(norm.ret_rms.var + 1e-8), rtol=1e-5)


class CountingEnv(gym.Env):
    """obs = [t, 0, 0], reward = 1 per step; terminates at t = 3 when `terminate`, else truncated
    by the time limit (4 steps)."""

    def __init__(self, terminate):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (O,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (A,), np.float32)
        self.terminate, self.t = terminate, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0, 0, 0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t, 0, 0], np.float32), 1.0, self.terminate and self.t == 3, self.t == 4 and not self.terminate, {}


class ValueIsT:
    """An agent whose value is the observation's first entry, acting with zeros."""

    def values(self, obs):
        return obs[:, 0].astype(np.float32)

    def get_actions_and_info(self, obs):
        n = len(obs)
        return np.zeros((n, A), np.float32), {"log_probs": np.zeros(n, np.float32), "values": self.values(obs)}


def test_vector_rollout_gae_bootstraps_through_truncation_not_termination():
    """Env 0 terminates after 3 steps, env 1 is truncated after 4 (final obs t = 4, V = 4).
    gamma 0.5, lambda 1: env 0's returns over its episode are 1.75, 1.5, 1; env 1's last step's
    return is 1 + 0.5 * V(final obs) = 3, then 2.5, 2.25, 2.125 back to its first step."""
    venv = make_vector_env([lambda: CountingEnv(True), lambda: CountingEnv(False)])
    collector = VectorCollector(venv, ValueIsT(), Normalizer(O, 2, 0.5, obs=False, reward=False))
    fields = rollout_fields(O, A, final_values=Field(()), task_ids=Field((), np.int64))
    buf = RolloutBuffer(4, 2, fields, gamma=0.5, gae_lambda=1.0)
    for _ in range(4):
        collector.collect_one_step(buf)
    np.testing.assert_array_equal(buf.data["terminals"][:, 0], [0, 0, 1, 0])
    np.testing.assert_array_equal(buf.data["timeouts"][:, 1], [0, 0, 0, 1])
    assert buf.data["final_values"][3, 1] == 4.0
    buf.compute_returns_and_advantages(collector.last_values(), buf.data["final_values"])
    np.testing.assert_allclose(buf.returns[:3, 0], [1.75, 1.5, 1.0])
    np.testing.assert_allclose(buf.returns[:, 1], [2.125, 2.25, 2.5, 3.0])
    # env 0's 4th step starts a new episode (t = 0 after the reset): 1 + 0.5 * V(t = 1) = 1.5
    np.testing.assert_allclose(buf.returns[3, 0], 1.5)
    assert len(collector.stats) == 2 and collector.stats.returns == [3.0, 4.0]
    venv.close()


def test_vector_collector_snapshot_continues_the_same_episodes():
    """A snapshot taken mid-episode, restored into a fresh (async) vector env, continues with the
    same observations and normalised rewards as the original."""
    from lifelong_rl.envs.make_env import make_env

    def make(i):
        return lambda: make_env("gym/Pendulum-v1", 10 + i, max_path_length=30)

    def rollout(collector, n):
        fields = rollout_fields(O, 1, final_values=Field(()), task_ids=Field((), np.int64))
        buf = RolloutBuffer(n, 2, fields, 0.99, 0.95)
        for _ in range(n):
            collector.collect_one_step(buf)
        return buf.data["observations"].copy(), buf.data["rewards"].copy()

    torch.manual_seed(0)
    agent = ActorCritic(GaussianPolicy(O, 1, [8]), Mlp(O, 1, [8]))
    a = VectorCollector(make_vector_env([make(0), make(1)]), agent, Normalizer(O, 2, 0.99))
    rollout(a, 17)  # mid-episode
    state, norm, rng = a.state_dict(), a.normalizer.state_dict(), torch.get_rng_state()
    expected = rollout(a, 20)  # across the 30-step time limit
    b = VectorCollector(make_vector_env([make(5), make(6)], "async"), agent, Normalizer(O, 2, 0.99))
    b.normalizer.load_state_dict(norm)  # the trainer's part of the snapshot
    b.load_state_dict(state)
    torch.set_rng_state(rng)
    got = rollout(b, 20)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    a.env.close()
    b.env.close()
