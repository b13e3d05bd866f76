import numpy as np
import pytest

from lifelong_rl.data_management.replay_buffer import ReplayBuffer


def _add(buf, i):
    buf.add_sample(np.full(2, i), np.full(1, i), float(i), np.full(2, i + 1), terminal=False, timeout=False)


def test_wrap_around_overwrites_oldest():
    buf = ReplayBuffer(5, obs_dim=2, action_dim=1, seed=0)
    for i in range(7):
        _add(buf, i)
    assert len(buf) == 5 and buf._top == 2
    # Slots 0 and 1 now hold transitions 5 and 6; 2..4 still hold 2..4.
    assert buf.rewards[:, 0].tolist() == [5, 6, 2, 3, 4]
    assert set(buf.random_batch(200)["rewards"][:, 0].tolist()) == {2, 3, 4, 5, 6}


def test_add_path_wraps_and_keeps_terminals_separate_from_timeouts():
    buf = ReplayBuffer(4, obs_dim=1, action_dim=1, seed=0)
    n = 6
    path = dict(observations=np.arange(n)[:, None], actions=np.zeros((n, 1)), rewards=np.arange(n),
                next_observations=np.arange(n)[:, None] + 1, terminals=np.array([0, 0, 0, 0, 0, 1]),
                timeouts=np.array([0, 0, 1, 0, 0, 0]))
    buf.add_path(path)
    assert len(buf) == 4 and buf._top == 2
    assert buf.rewards[:, 0].tolist() == [4, 5, 2, 3]
    assert buf.terminals[:, 0].tolist() == [0, 1, 0, 0]
    assert buf.timeouts[:, 0].tolist() == [0, 0, 1, 0]


def test_state_dict_round_trip_continues_same_samples():
    a = ReplayBuffer(10, 2, 1, seed=3)
    for i in range(13):
        _add(a, i)
    a.random_batch(4)
    b = ReplayBuffer(10, 2, 1, seed=99)
    b.load_state_dict(a.state_dict())
    assert np.array_equal(a.random_batch(8)["rewards"], b.random_batch(8)["rewards"])
    _add(a, 100)
    _add(b, 100)
    assert np.array_equal(a.rewards, b.rewards)


def test_bad_input():
    with pytest.raises(ValueError):
        ReplayBuffer(0, 1, 1)
    with pytest.raises(RuntimeError):
        ReplayBuffer(3, 1, 1).random_batch(2)


def test_reservoir_keeps_a_uniform_sample_of_everything_seen():
    from lifelong_rl.data_management.replay_buffer import ReservoirReplayBuffer

    counts = np.zeros(4)
    for seed in range(200):
        buf = ReservoirReplayBuffer(10, 1, 1, seed=seed)
        for i in range(40):
            buf.add_sample(np.zeros(1), np.zeros(1), float(i), np.zeros(1), False, task_id=i // 10)
        assert len(buf) == 10 and buf.num_seen == 40
        counts += np.bincount(buf.task_ids, minlength=4)
    # Each of the 4 blocks of 10 holds on average a quarter of the 10 slots.
    assert np.allclose(counts / 200, 2.5, atol=0.35)
    b2 = ReservoirReplayBuffer(10, 1, 1)
    b2.load_state_dict(buf.state_dict())
    assert b2.num_seen == 40 and np.array_equal(b2.task_ids, buf.task_ids)
    assert set(buf.task_indices(3)) == set(np.flatnonzero(buf.task_ids == 3))
