import numpy as np
import pytest

from lifelong_rl.envs.make_env import UnknownEnvError, make_env, metaworld_task_names, validate_env_name

from conftest import reset_goals


def test_metaworld_task_list_and_spaces():
    names = metaworld_task_names()
    assert len(names) == 50 and "reach-v3" in names
    env = make_env("metaworld/reach-v3", seed=0)
    obs, _ = env.reset()
    assert obs.dtype == np.float32 and obs.shape == env.observation_space.shape == (39,)
    obs, r, term, trunc, info = env.step(env.action_space.sample())
    assert "success" in info and isinstance(r, float)


def test_metaworld_goal_fixed_by_seed_or_new_each_episode():
    a, b, c = (make_env("metaworld/reach-v3", seed=s) for s in (0, 0, 1))
    assert len(set(reset_goals(a, 3))) == 1    # fixed goal
    assert reset_goals(a, 1) == reset_goals(b, 1)    # same seed, same goal
    assert reset_goals(a, 1) != reset_goals(c, 1)    # other seed, other goal
    d = make_env("metaworld/reach-v3", seed=0, new_goal_each_episode=True)
    assert len(set(reset_goals(d, 5))) > 1


def test_metaworld_truncates_at_episode_length():
    env = make_env("metaworld/reach-v3", seed=0, max_path_length=7)
    env.reset()
    flags = [env.step(env.action_space.sample())[3] for _ in range(7)]
    assert flags == [False] * 6 + [True]


@pytest.mark.parametrize("name", ["metaworld/reach-v9", "metaworld/nope", "gym/NoSuchEnv-v0", "dm/cheetah", "reach-v3"])
def test_unknown_env_names(name):
    with pytest.raises(UnknownEnvError) as e:
        validate_env_name(name)
    assert "\n" not in str(e.value)


def test_gym_envs_are_seeded():
    o1 = make_env("gym/Pendulum-v1", seed=3).reset()[0]
    o2 = make_env("gym/Pendulum-v1", seed=3).reset()[0]
    assert np.array_equal(o1, o2) and o1.dtype == np.float32
    with pytest.raises(UnknownEnvError):
        make_env("gym/CartPole-v1")  # discrete actions


def test_episode_length_sees_through_wrappers():
    """Main returned gymnasium's fallback of 1000 for a MetaWorld env inside the task-id wrapper."""
    from lifelong_rl.envs.make_env import episode_length
    from lifelong_rl.envs.wrappers import TaskIdWrapper

    env = make_env("metaworld/reach-v3", seed=0, max_path_length=200)
    assert episode_length(env) == episode_length(TaskIdWrapper(env, 0, 2)) == 200
