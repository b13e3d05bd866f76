import numpy as np
import pytest

from lifelong_rl.data_management.fields import Field
from lifelong_rl.data_management.rollout_buffer import RolloutBuffer, rollout_fields


def fill(buf, rewards, values, terminals=None, timeouts=None, **extra):
    """Add [T, num_envs] arrays step by step; observations/actions are zeros unless in `extra`."""
    T, E = np.shape(rewards)
    zeros = np.zeros((T, E))
    terminals = zeros if terminals is None else terminals
    timeouts = zeros if timeouts is None else timeouts
    obs_dim = buf.fields["observations"].shape[0]
    act_dim = buf.fields["actions"].shape[0]
    for t in range(T):
        step = dict(observations=np.zeros((E, obs_dim)), actions=np.zeros((E, act_dim)),
                    rewards=np.asarray(rewards)[t], values=np.asarray(values)[t],
                    terminals=np.asarray(terminals)[t], timeouts=np.asarray(timeouts)[t],
                    log_probs=np.zeros(E))
        step.update({k: np.asarray(v)[t] for k, v in extra.items()})
        buf.add(**step)


def column(x):
    return np.asarray(x, dtype=np.float64).reshape(-1, 1)


def test_gae_termination_and_truncation_by_hand():
    buf = RolloutBuffer(4, 1, rollout_fields(2, 1), gamma=0.9, gae_lambda=0.8)
    fill(buf, rewards=column([1, 2, 3, 4]), values=column([0.5, 1.0, 1.5, 2.0]),
         terminals=column([0, 1, 0, 0]), timeouts=column([0, 0, 0, 1]))
    assert buf.full
    # Only the truncated step's entry is read: NaNs elsewhere must not leak in.
    trunc = column([np.nan, np.nan, np.nan, 10.0])
    buf.compute_returns_and_advantages(last_values=np.array([100.0]), truncation_values=trunc)
    # gamma * lambda = 0.72
    # t=3 truncated: delta = 4 + 0.9*10 - 2.0 = 11.0;        A3 = 11.0 (last_values unused)
    # t=2:           delta = 3 + 0.9*2.0 - 1.5 = 3.3;        A2 = 3.3 + 0.72*11.0 = 11.22
    # t=1 terminal:  delta = 2 - 1.0 = 1.0;                  A1 = 1.0 (no bootstrap, no carry)
    # t=0:           delta = 1 + 0.9*1.0 - 0.5 = 1.4;        A0 = 1.4 + 0.72*1.0 = 2.12
    np.testing.assert_allclose(buf.advantages[:, 0], [2.12, 1.0, 11.22, 11.0], rtol=1e-6)
    np.testing.assert_allclose(buf.returns[:, 0], [2.62, 2.0, 12.72, 13.0], rtol=1e-6)


def test_timeouts_without_truncation_values_raise():
    buf = RolloutBuffer(2, 1, rollout_fields(2, 1), gamma=0.9, gae_lambda=0.8)
    fill(buf, rewards=column([1, 1]), values=column([0, 0]), timeouts=column([1, 0]))
    with pytest.raises(ValueError, match="truncation_values"):
        buf.compute_returns_and_advantages(np.zeros(1))


def test_lambda_one_gives_discounted_monte_carlo_returns():
    T, E, gamma = 5, 2, 0.9
    rng = np.random.default_rng(0)
    rewards, values, last = rng.normal(size=(T, E)), rng.normal(size=(T, E)), rng.normal(size=E)
    buf = RolloutBuffer(T, E, rollout_fields(2, 1), gamma=gamma, gae_lambda=1.0)
    fill(buf, rewards, values)
    buf.compute_returns_and_advantages(last)
    for e in range(E):
        for t in range(T):
            expected = sum(gamma ** (k - t) * rewards[k, e] for k in range(t, T)) + gamma ** (T - t) * last[e]
            assert buf.returns[t, e] == pytest.approx(expected, rel=1e-5)
            assert buf.advantages[t, e] == pytest.approx(expected - values[t, e], rel=1e-5, abs=1e-5)


def test_lambda_zero_gives_one_step_td_error():
    T, E, gamma = 4, 2, 0.95
    rng = np.random.default_rng(1)
    rewards, values, last = rng.normal(size=(T, E)), rng.normal(size=(T, E)), rng.normal(size=E)
    terminals = np.zeros((T, E))
    terminals[1, 0] = 1
    buf = RolloutBuffer(T, E, rollout_fields(2, 1), gamma=gamma, gae_lambda=0.0)
    fill(buf, rewards, values, terminals)
    buf.compute_returns_and_advantages(last)
    next_values = np.vstack([values[1:], last[None]])
    td = rewards + gamma * next_values * (1 - terminals) - values
    np.testing.assert_allclose(buf.advantages, td, rtol=1e-5, atol=1e-6)


def test_multi_env_independence():
    T, gamma, lam = 4, 0.9, 0.8
    rng = np.random.default_rng(2)
    rewards, values, last = rng.normal(size=(T, 2)), rng.normal(size=(T, 2)), rng.normal(size=2)
    terminals, timeouts, trunc = np.zeros((T, 2)), np.zeros((T, 2)), np.zeros((T, 2))
    terminals[1, 0] = 1  # env 0 terminates after step 1
    timeouts[2, 1], trunc[2, 1] = 1, 5.0  # env 1 is truncated after step 2
    both = RolloutBuffer(T, 2, rollout_fields(2, 1), gamma, lam)
    fill(both, rewards, values, terminals, timeouts)
    both.compute_returns_and_advantages(last, trunc)
    for e in range(2):
        single = RolloutBuffer(T, 1, rollout_fields(2, 1), gamma, lam)
        fill(single, rewards[:, e:e + 1], values[:, e:e + 1], terminals[:, e:e + 1], timeouts[:, e:e + 1])
        single.compute_returns_and_advantages(last[e:e + 1], trunc[:, e:e + 1])
        np.testing.assert_allclose(both.advantages[:, e], single.advantages[:, 0])
        np.testing.assert_allclose(both.returns[:, e], single.returns[:, 0])
    # And the two envs really differ in where their recursion is cut: env 0's step 1 ignores step 2.
    assert both.advantages[1, 0] == pytest.approx(rewards[1, 0] - values[1, 0], rel=1e-5)
    assert both.advantages[2, 1] == pytest.approx(rewards[2, 1] + gamma * 5.0 - values[2, 1], rel=1e-5)


def test_extra_field_and_minibatch_coverage():
    T, E = 5, 3
    n = T * E
    fields = rollout_fields(2, 1, task_ids=Field((), np.int64))
    buf = RolloutBuffer(T, E, fields, gamma=0.9, gae_lambda=0.95)
    ids = np.arange(n).reshape(T, E)  # flattened index of each sample
    obs = np.stack([ids, -ids], axis=-1).astype(np.float32)
    fill(buf, np.ones((T, E)), np.zeros((T, E)), observations=obs, task_ids=ids)
    assert buf.data["task_ids"].dtype == np.int64 and buf.data["task_ids"].shape == (T, E)
    buf.compute_returns_and_advantages(np.zeros(E))

    all_data = buf.get_all()
    np.testing.assert_array_equal(all_data["task_ids"], np.arange(n))  # no shuffling
    assert all_data["observations"].shape == (n, 2) and all_data["rewards"].shape == (n,)

    rng = np.random.default_rng(3)
    for _ in range(2):  # every epoch covers each index exactly once
        batches = list(buf.minibatches(4, rng))
        assert [len(b["task_ids"]) for b in batches] == [4, 4, 4, 3]
        seen = np.concatenate([b["task_ids"] for b in batches])
        assert sorted(seen.tolist()) == list(range(n))
        for b in batches:
            assert b["task_ids"].dtype == np.int64
            assert set(b) == set(fields) | {"advantages", "returns"}
            np.testing.assert_array_equal(b["observations"][:, 0], b["task_ids"])  # rows stay aligned
            np.testing.assert_array_equal(b["advantages"], all_data["advantages"][b["task_ids"]])


def test_add_errors():
    buf = RolloutBuffer(1, 2, rollout_fields(2, 1), gamma=0.9, gae_lambda=0.95)
    step = dict(observations=np.zeros((2, 2)), actions=np.zeros((2, 1)), rewards=np.zeros(2),
                terminals=np.zeros(2), timeouts=np.zeros(2), log_probs=np.zeros(2), values=np.zeros(2))
    with pytest.raises(ValueError, match="bogus_field"):
        buf.add(**step, bogus_field=np.zeros(2))
    with pytest.raises(ValueError, match="log_probs"):
        buf.add(**{k: v for k, v in step.items() if k != "log_probs"})
    with pytest.raises(ValueError, match="rewards"):
        buf.add(**{**step, "rewards": np.zeros(3)})
    assert buf.pos == 0
    buf.add(**step)
    with pytest.raises(RuntimeError, match="full"):
        buf.add(**step)
    buf.reset()
    assert not buf.full
    buf.add(**step)
    assert buf.full


def test_state_dict_round_trip():
    T, E = 3, 2
    fields = rollout_fields(2, 1, task_ids=Field((), np.int64))
    rng = np.random.default_rng(4)
    buf = RolloutBuffer(T, E, fields, gamma=0.9, gae_lambda=0.95)
    fill(buf, rng.normal(size=(T, E)), rng.normal(size=(T, E)), task_ids=np.arange(T * E).reshape(T, E))
    buf.compute_returns_and_advantages(rng.normal(size=E))
    state = buf.state_dict()

    def plain(x):
        return isinstance(x, (int, np.ndarray)) or (isinstance(x, dict) and all(map(plain, x.values())))
    assert plain(state)

    other = RolloutBuffer(T, E, fields, gamma=0.9, gae_lambda=0.95)
    other.load_state_dict(state)
    assert other.pos == buf.pos and other.full
    expected, got = buf.get_all(), other.get_all()
    assert set(expected) == set(got)
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k])
        assert got[k].dtype == expected[k].dtype
    buf.data["rewards"][:] = 123.0  # the state is a copy, not a view
    assert not np.any(other.data["rewards"] == 123.0)
