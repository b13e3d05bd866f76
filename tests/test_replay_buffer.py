import numpy as np
import pytest

from lifelong_rl.data_management.fields import Field, transition_fields
from lifelong_rl.data_management.replay_buffer import ReplayBuffer, ReservoirReplayBuffer


def _buf(size, obs_dim=2, action_dim=1, seed=None, cls=ReplayBuffer, **extra):
    return cls(size, transition_fields(obs_dim, action_dim, **extra), seed=seed)


def _add(buf, i, task_id=0):
    buf.add_sample(observations=np.full(buf.observations.shape[1], i), actions=np.full(1, i), rewards=float(i),
                   next_observations=np.full(buf.observations.shape[1], i + 1), terminals=0.0, timeouts=0.0, task_ids=task_id)


def test_wrap_around_overwrites_oldest():
    buf = _buf(5, seed=0)
    for i in range(7):
        _add(buf, i)
    assert len(buf) == 5 and buf._top == 2
    # Slots 0 and 1 now hold transitions 5 and 6; 2..4 still hold 2..4.
    assert buf.rewards[:, 0].tolist() == [5, 6, 2, 3, 4]
    assert set(buf.random_batch(200)["rewards"][:, 0].tolist()) == {2, 3, 4, 5, 6}


def _path(n, task_ids):
    return dict(observations=np.arange(n)[:, None], actions=np.zeros((n, 1)), rewards=np.arange(n)[:, None],
                next_observations=np.arange(n)[:, None] + 1, terminals=np.array([0, 0, 0, 0, 0, 1])[:n, None],
                timeouts=np.array([0, 0, 1, 0, 0, 0])[:n, None], task_ids=np.asarray(task_ids))


def test_add_path_wraps_and_keeps_terminals_separate_from_timeouts():
    buf = _buf(4, obs_dim=1, seed=0)
    buf.add_path(_path(6, [0, 0, 1, 1, 2, 2]))
    assert len(buf) == 4 and buf._top == 2
    assert buf.rewards[:, 0].tolist() == [4, 5, 2, 3]
    assert buf.terminals[:, 0].tolist() == [0, 1, 0, 0]
    assert buf.timeouts[:, 0].tolist() == [0, 0, 1, 0]
    assert buf.task_ids.tolist() == [2, 2, 1, 1]


def test_reservoir_add_path_keeps_task_ids():
    """On main, ReservoirReplayBuffer.add_path dropped the path's task ids (every sample became task 0)."""
    buf = _buf(10, obs_dim=1, seed=0, cls=ReservoirReplayBuffer)
    buf.add_path(_path(4, [3, 3, 5, 5]))
    assert buf.task_ids[:4].tolist() == [3, 3, 5, 5]


def test_declared_fields_are_stored_and_checked():
    buf = _buf(4, skills=Field((2,)))
    assert buf.skills.shape == (4, 2)
    with pytest.raises(ValueError, match=r"missing \['skills'\]"):
        _add(buf, 0)
    sample = dict(observations=np.zeros(2), actions=np.zeros(1), rewards=1.0, next_observations=np.zeros(2),
                  terminals=0.0, timeouts=0.0, task_ids=0, skills=np.array([0.5, -1.0]))
    buf.add_sample(**sample)
    assert buf.random_batch(3)["skills"].tolist() == [[0.5, -1.0]] * 3
    with pytest.raises(ValueError, match=r"unknown \['goal'\]"):
        buf.add_sample(**sample, goal=np.zeros(3))


def test_state_dict_round_trip_continues_same_samples():
    a = _buf(10, seed=3)
    for i in range(13):
        _add(a, i)
    a.random_batch(4)
    b = _buf(10, seed=99)
    b.load_state_dict(a.state_dict())
    assert np.array_equal(a.random_batch(8)["rewards"], b.random_batch(8)["rewards"])
    _add(a, 100)
    _add(b, 100)
    assert np.array_equal(a.rewards, b.rewards)


def test_bad_input():
    with pytest.raises(ValueError):
        _buf(0)
    with pytest.raises(RuntimeError):
        _buf(3).random_batch(2)


def test_reservoir_keeps_a_uniform_sample_of_everything_seen():
    counts = np.zeros(4)
    for seed in range(200):
        buf = _buf(10, obs_dim=1, seed=seed, cls=ReservoirReplayBuffer)
        for i in range(40):
            _add(buf, i, task_id=i // 10)
        assert len(buf) == 10 and buf.num_seen == 40
        counts += np.bincount(buf.task_ids, minlength=4)
    # Each of the 4 blocks of 10 holds on average a quarter of the 10 slots.
    assert np.allclose(counts / 200, 2.5, atol=0.35)
    b2 = _buf(10, obs_dim=1, cls=ReservoirReplayBuffer)
    b2.load_state_dict(buf.state_dict())
    assert b2.num_seen == 40 and np.array_equal(b2.task_ids, buf.task_ids)
    assert set(buf.task_indices(3)) == set(np.flatnonzero(buf.task_ids == 3))


def test_collector_fills_declared_fields_from_agent_and_env_infos():
    """A buffer that declares `log_probs` (agent info) and `success` (MetaWorld's env info) gets both."""
    from lifelong_rl.envs.make_env import make_env
    from lifelong_rl.samplers.collectors import StepCollector

    class Agent:
        def get_action_and_info(self, obs):
            return np.full(4, 0.1, np.float32), {"log_probs": float(obs[0])}

        def reset(self):
            pass

    env = make_env("metaworld/reach-v3", seed=0, max_path_length=5)
    buf = _buf(10, obs_dim=39, action_dim=4, log_probs=Field(()), success=Field(()))
    col = StepCollector(env, Agent(), 5)
    info = col.collect_one_step(buf)
    assert "success" in info and info["log_probs"] == buf.observations[0, 0] == buf.log_probs[0]
    assert buf.success[0] == info["success"]
    with pytest.raises(KeyError, match="'skills' is in neither"):
        col.collect_one_step(_buf(10, obs_dim=39, action_dim=4, skills=Field((2,))))
