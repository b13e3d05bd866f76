"""Model-based building blocks: the probabilistic ensemble and its fit on a known linear-Gaussian
system, elites, the planners on a known quadratic, MPC with the true InvertedPendulum dynamics,
MBPO's rollout-length schedule, data mix and branched rollouts, the hand-written env functions,
and snapshot round trips. (The mpc, mbpo and loop runs are in the registry's contract test.)"""
import io

import numpy as np
import pytest
import torch

from lifelong_rl.data_management.fields import transition_fields
from lifelong_rl.data_management.replay_buffer import ReplayBuffer
from lifelong_rl.envs.make_env import make_env
from lifelong_rl.envs.model_functions import REWARDS, TERMINATIONS, inverted_pendulum_done, inverted_pendulum_reward
from lifelong_rl.models.dynamics import DynamicsModel, ProbabilisticEnsemble
from lifelong_rl.models.true_model import MujocoTrueModel
from lifelong_rl.planners import CEM, MPPI, RandomShooting
from lifelong_rl.policies.mpc_policy import MPCPolicy
from lifelong_rl.trainers.dynamics_trainer import DynamicsTrainer
from lifelong_rl.trainers.mbpo import ModelRollouts, branched_rollouts, rollout_length

A = np.array([[0.9, 0.2], [-0.1, 0.8]], np.float32)
B = np.array([[0.5], [1.0]], np.float32)
NOISE_STD = 0.1


def linear_data(n, seed=0):
    """s' = A s + B a + N(0, 0.1^2), r = s_0 + a_0 (exact): a known linear-Gaussian system."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    a = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    s2 = s @ A.T + a @ B.T + NOISE_STD * rng.standard_normal((n, 2)).astype(np.float32)
    r = s[:, 0] + a[:, 0]
    return s, a, r, np.zeros(n, np.float32), s2


@pytest.fixture(scope="module")
def fitted():
    torch.manual_seed(0)
    e = ProbabilisticEnsemble(2, 1, ensemble_size=4, num_elites=2, hidden_sizes=[64, 64], learn_terminal=False)
    trainer = DynamicsTrainer(e, lr=3e-3, batch_size=128, max_epochs=60, patience=10, seed=0)
    stats = trainer.fit(*linear_data(4000))
    return e, trainer, stats


def test_the_ensemble_learns_a_linear_gaussian_system(fitted):
    e, trainer, stats = fitted
    s, a, r, _, _ = linear_data(500, seed=1)
    mean, var = e.predict(torch.as_tensor(s), torch.as_tensor(a), e.elites)
    true_delta = s @ A.T + a @ B.T - s
    np.testing.assert_allclose(mean[..., :2].mean(0).detach().numpy(), true_delta, atol=0.06)
    np.testing.assert_allclose(mean[..., 2].mean(0).detach().numpy(), r, atol=0.06)
    # Aleatoric: the predicted variance of s' - s is the noise's (0.01), of the exact reward near 0.
    pred_var = var[..., :2].mean().item()
    assert 0.6 * NOISE_STD ** 2 < pred_var < 1.5 * NOISE_STD ** 2, pred_var
    assert var[..., 2].mean().item() < 0.2 * NOISE_STD ** 2
    assert stats["model/holdout mse (all)"] < 0.2 * stats["model/holdout mse before fit (all)"]


def test_elites_are_the_best_held_out_members_and_the_only_ones_sampled(fitted):
    e, trainer, _ = fitted
    scores = trainer.holdout_scores
    assert sorted(e.elites.tolist()) == sorted(torch.argsort(scores)[:2].tolist())
    # Poison every other member: a sample through the model must never touch them.
    poisoned = ProbabilisticEnsemble(2, 1, ensemble_size=4, num_elites=2, hidden_sizes=[64, 64], learn_terminal=False)
    poisoned.load_state_dict(e.state_dict())
    others = [i for i in range(4) if i not in e.elites.tolist()]
    with torch.no_grad():
        poisoned.layers[-1].bias[others] = 1e6
    model = DynamicsModel(poisoned, termination_fn=lambda o, a, n: torch.zeros(len(o), dtype=torch.bool))
    s, a, *_ = linear_data(1000, seed=2)
    obs, act = torch.as_tensor(s), torch.as_tensor(a)
    for members in (model.random_members(1000), torch.arange(2).repeat_interleave(500)):
        next_obs, reward, _ = model.step(obs, act, members)
        assert next_obs.abs().max() < 10 and reward.abs().max() < 10
    assert model.num_members == 2


def test_sampling_groups_rows_by_member_exactly():
    """Grouped (equal shares) and per-member (unequal) paths give each row its own member's mean."""
    torch.manual_seed(0)
    e = ProbabilisticEnsemble(3, 2, ensemble_size=3, num_elites=3, hidden_sizes=[8])
    obs, act = torch.randn(6, 3), torch.randn(6, 2)
    full_mean = e.predict(obs, act)[0]  # [3, 6, target]
    for members in (torch.tensor([2, 0, 1, 1, 0, 2]), torch.tensor([0, 0, 0, 1, 2, 2])):
        y = e.sample_members(obs, act, members, deterministic=True)
        torch.testing.assert_close(y, full_mean[members, torch.arange(6)])


def test_disagreement_measures():
    e = ProbabilisticEnsemble(1, 1, ensemble_size=3, num_elites=3, hidden_sizes=[4], learn_reward=False, learn_terminal=False)
    with torch.no_grad():
        for layer in e.layers:
            layer.weight.zero_()
            layer.bias.zero_()
        e.layers[-1].bias[:, 0, 0] = torch.tensor([0.0, 1.0, 3.0])  # the members' means of s' - s
        e.layers[-1].bias[:, 0, 1] = torch.tensor([0.0, 0.0, 2.0 * np.log(2.0)])  # raw log-variances
    d = e.disagreement(torch.zeros(2, 1), torch.zeros(2, 1))
    torch.testing.assert_close(d["max_mean_gap"], torch.tensor([3.0, 3.0]))
    logvar = e(torch.zeros(3, 1, 2))[1][:, 0, 0]  # after the soft bounds
    torch.testing.assert_close(d["max_std_norm"], (0.5 * logvar).exp().max().expand(2))


def test_model_snapshot_round_trip_keeps_normalisers_elites_and_the_next_fit(fitted):
    e, trainer, _ = fitted
    buf = io.BytesIO()
    torch.save(trainer.state_dict(), buf)  # as a snapshot holds it: no tensor shared with the live trainer
    buf.seek(0)
    state = torch.load(buf, weights_only=False)
    e2 = ProbabilisticEnsemble(2, 1, ensemble_size=4, num_elites=2, hidden_sizes=[64, 64], learn_terminal=False)
    t2 = DynamicsTrainer(e2, lr=3e-3, batch_size=128, max_epochs=2, seed=123)
    t2.load_state_dict(state)
    for name in ("input_mean", "input_std", "target_mean", "target_std", "elites"):
        torch.testing.assert_close(getattr(e2, name), getattr(e, name))
    s, a, *_ = linear_data(50, seed=3)
    torch.testing.assert_close(e2.predict(torch.as_tensor(s), torch.as_tensor(a))[0],
                               e.predict(torch.as_tensor(s), torch.as_tensor(a))[0])
    # The fit after a round trip is the fit without one (same RNG and optimizer state).
    trainer.max_epochs = 2
    data = linear_data(300, seed=4)
    t2.fit(*data)
    trainer.fit(*data)
    for p, q in zip(e.parameters(), e2.parameters()):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("planner", [RandomShooting(3, 1, 4000, 3), CEM(3, 2, 200, 10), MPPI(3, 2, 1000, 20, temperature=0.05)])
def test_each_planner_finds_the_minimum_of_a_quadratic_cost(planner):
    torch.manual_seed(0)
    target = torch.rand(planner.horizon, planner.action_dim) * 1.6 - 0.8

    def returns(seqs):
        return -((seqs - target) ** 2).sum((1, 2))

    plan = planner.plan(returns, torch.zeros(planner.horizon, planner.action_dim))
    # Random shooting: the best of 12k uniform draws; MPPI: a weighted mean of draws of fixed std 0.5.
    tol = {RandomShooting: 0.15, CEM: 0.03, MPPI: 0.05}[type(planner)]
    assert (plan - target).abs().max() < tol, (plan, target)


def test_mppi_smoothing_and_the_warm_start_shift():
    m = MPPI(4, 1, 2, 1, beta=0.5)
    eps = torch.tensor([[[1.0], [0.0], [2.0], [0.0]]]).expand(2, -1, -1)
    torch.testing.assert_close(m.smooth(eps)[0, :, 0], torch.tensor([1.0, 0.5, 1.25, 0.625]))

    class Fixed(RandomShooting):
        def plan(self, returns, mean, prior=None):
            self.seen = mean.clone()
            return torch.tensor([[0.1], [0.2], [0.3], [0.4]])

    policy = MPCPolicy(None, Fixed(4, 1, 1, 1))
    assert float(policy.get_action(np.zeros(2))[0]) == pytest.approx(0.1)
    policy.get_action(np.zeros(2))
    torch.testing.assert_close(policy.planner.seen[:, 0], torch.tensor([0.2, 0.3, 0.4, 0.0]))
    policy.reset()
    torch.testing.assert_close(policy._plan, torch.zeros(4, 1))


def test_trajectory_sampling_returns_stop_at_termination_and_add_the_terminal_value():
    """A model with s' = s + a, reward 1, done once s > 1.5; terminal value 10 * s."""
    class Line:
        num_members = 2

        def random_members(self, n):
            return torch.zeros(n, dtype=torch.long)

        def step(self, obs, act, members):
            nxt = obs + act
            return nxt, torch.ones(len(obs)), nxt[:, 0] > 1.5

    policy = MPCPolicy(Line(), RandomShooting(3, 1, 1, 1), num_particles=2, discount=0.5,
                       value_fn=lambda s: 10 * s[:, 0])
    seqs = torch.tensor([[[1.0], [1.0], [1.0]], [[0.1], [0.1], [0.1]]])
    r = policy.sequence_returns(torch.zeros(1, 1), seqs)
    # First: rewards 1 at t=0 and 0.5 at t=1 (done at s=2 after it), nothing after. Second: alive throughout.
    torch.testing.assert_close(r, torch.tensor([1.5, 1 + 0.5 + 0.25 + 0.125 * 10 * 0.3]))


def test_mpc_with_the_true_model_balances_the_inverted_pendulum_for_the_whole_episode():
    torch.manual_seed(0)
    env = make_env("gym/InvertedPendulum-v5", 0)
    model = MujocoTrueModel(env, inverted_pendulum_reward, inverted_pendulum_done)
    policy = MPCPolicy(model, MPPI(25, 1, 64, 2))
    obs, _ = env.reset(seed=0)
    total, steps = 0.0, 0
    while True:
        obs, r, terminated, truncated, _ = env.step(policy.get_action(obs))
        total, steps = total + r, steps + 1
        if terminated or truncated:
            break
    assert not terminated and steps == 1000 and total == 1000.0


@pytest.mark.parametrize("name", sorted(set(REWARDS) | set(TERMINATIONS)))
def test_hand_written_rewards_and_terminations_match_the_env(name):
    env = make_env(name, 0)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(300):
        a = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        nxt, r, terminated, truncated, _ = env.step(a)
        o, act, n = (torch.as_tensor(np.asarray(x, np.float32))[None] for x in (obs, a, nxt))
        if name in REWARDS:
            assert float(REWARDS[name](o, act, n)[0]) == pytest.approx(float(r), rel=1e-4, abs=1e-4)
        if name in TERMINATIONS:
            assert bool(TERMINATIONS[name](o, act, n)[0]) == terminated
        checked += 1
        obs = nxt
        if terminated or truncated:
            obs, _ = env.reset()
    assert checked == 300


def test_rollout_length_schedule():
    schedule = (20_000, 100_000, 1, 15)  # MBPO's Hopper
    assert [rollout_length(schedule, s) for s in (0, 20_000, 60_000, 99_999, 100_000, 500_000)] == [1, 1, 8, 14, 15, 15]
    assert rollout_length((0, 0, 5, 5), 123) == 5


def test_real_and_model_data_mix_on_fixed_buffers():
    fields = transition_fields(2, 1)
    real, fake = ReplayBuffer(100, fields, seed=0), ReplayBuffer(100, fields, seed=1)
    zeros = {k: np.zeros((50, *f.shape), f.dtype) for k, f in fields.items()}
    real.add_batch(**{**zeros, "rewards": np.ones((50, 1), np.float32)})
    rollouts = ModelRollouts(None, None, fake, 1, 1, (1, 1, 1, 1), retain_generations=100, real_ratio=0.05,
                             device=torch.device("cpu"))
    assert (rollouts.batch(real, 256)["rewards"] == 1).all()  # all real while the model buffer is empty
    fake.add_batch(**{**zeros, "rewards": -np.ones((50, 1), np.float32)})
    batch = rollouts.batch(real, 256)
    assert len(batch["rewards"]) == 256 and int((batch["rewards"] == 1).sum()) == int(0.05 * 256) == 12


def test_branched_rollouts_stop_each_row_at_its_termination():
    e = ProbabilisticEnsemble(1, 1, ensemble_size=2, num_elites=2, hidden_sizes=[4], learn_reward=False, learn_terminal=False)
    with torch.no_grad():
        for layer in e.layers:
            layer.weight.zero_()
            layer.bias.zero_()
        e.layers[-1].bias[:, 0, 0] = 1.0  # s' = s + 1
    model = DynamicsModel(e, reward_fn=lambda o, a, n: n[:, 0], termination_fn=lambda o, a, n: n[:, 0] > 2.5,
                          deterministic=True)

    class Zero(torch.nn.Module):
        def sample(self, obs):
            return torch.zeros(len(obs), 1), None

    data = branched_rollouts(model, Zero(), torch.tensor([[0.0], [2.0]]), 4)
    # Row 0: 0 -> 1 -> 2 -> 3 (done); row 1: 2 -> 3 (done). 4 transitions in all.
    np.testing.assert_allclose(data["observations"][:, 0], [0, 2, 1, 2])
    np.testing.assert_allclose(data["terminals"], [0, 1, 0, 1])
    np.testing.assert_allclose(data["rewards"], [1, 3, 2, 3])


def test_add_batch_is_add_sample_one_by_one():
    fields = transition_fields(2, 1)
    a, b = ReplayBuffer(7, fields), ReplayBuffer(7, fields)
    rng = np.random.default_rng(0)
    for n in (3, 5, 9):
        batch = {k: rng.standard_normal((n, *f.shape)).astype(f.dtype) for k, f in fields.items()}
        a.add_batch(**batch)
        for i in range(n):
            b.add_sample(**{k: v[i] for k, v in batch.items()})
        assert len(a) == len(b) and a._top == b._top
        for k in fields:
            np.testing.assert_array_equal(getattr(a, k), getattr(b, k))


def test_model_data_comes_from_the_last_generations():
    fields = transition_fields(1, 1)
    buf = ReplayBuffer(10, fields, seed=0)
    zeros = {k: np.zeros((15, *f.shape), f.dtype) for k, f in fields.items()}
    buf.add_batch(**{**zeros, "rewards": np.arange(15, dtype=np.float32)[:, None]})  # the ring keeps 5 .. 14
    assert set(buf.random_batch(500, window=3)["rewards"][:, 0]) == {12.0, 13.0, 14.0}
    assert set(buf.random_batch(500)["rewards"][:, 0]) == set(np.arange(5.0, 15.0))


def test_mppi_with_a_diverged_candidate_still_weighs_the_others():
    torch.manual_seed(0)
    target = torch.tensor([[0.5], [-0.5]])

    def returns(seqs):
        r = -((seqs - target) ** 2).sum((1, 2))
        r[0] = float("nan")
        return r

    plan = MPPI(2, 1, 500, 10, temperature=0.05).plan(returns, torch.zeros(2, 1))
    assert (plan - target).abs().max() < 0.1
