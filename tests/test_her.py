"""HER (lifelong_rl/data_management/her_buffer.py) and the goal envs (lifelong_rl/envs/goal_env.py)."""
import numpy as np
import pytest

from conftest import run_cli
from lifelong_rl.data_management.fields import Field, transition_fields
from lifelong_rl.data_management.her_buffer import HERReplayBuffer
from lifelong_rl.envs.goal_env import MetaWorldGoalEnv
from lifelong_rl.envs.make_env import make_env

OBS, GOAL, A = 2, 3, 1


def reward_fn(achieved, desired):
    return -(np.linalg.norm(achieved - desired, axis=-1) > 0.5).astype(np.float32)


def _buffer(k=4, size=1000, seed=0):
    fields = transition_fields(OBS + GOAL, A, achieved_goals=Field((GOAL,)))
    return HERReplayBuffer(size, fields, GOAL, reward_fn, k, seed=seed)


def _fill(buf, episodes):
    """Episodes of the given lengths; step t of episode e achieves the goal [e, t, 100 e + t] (unique),
    the desired goal is [-1, -1, -1], the original reward -1."""
    for e, n in enumerate(episodes):
        for t in range(n):
            goal = np.full(GOAL, -1.0)
            buf.add_sample(observations=np.r_[np.zeros(OBS), goal], actions=np.zeros(A), rewards=-1.0,
                           next_observations=np.r_[np.ones(OBS), goal], terminals=0.0,
                           timeouts=float(t == n - 1 and e < len(episodes) - 1), task_ids=0,
                           achieved_goals=np.array([e, t, 100 * e + t], float))


def test_relabelled_goals_are_achieved_goals_of_later_steps_of_the_same_episode():
    buf = _buffer(k=4)
    _fill(buf, [5, 7, 4])  # the last episode is still running
    batch = buf.random_batch(4000)
    goals = batch["observations"][:, OBS:]
    relabelled = ~np.all(goals == -1, axis=1)
    assert abs(relabelled.mean() - 0.8) < 0.03  # k / (k + 1)
    np.testing.assert_array_equal(batch["next_observations"][:, OBS:], goals)
    e, t = batch["achieved_goals"][:, 0], batch["achieved_goals"][:, 1]
    ge, gt = goals[relabelled, 0], goals[relabelled, 1]
    assert np.all(ge == e[relabelled]), "a goal from another episode"
    assert np.all(gt >= t[relabelled]), "a goal from an earlier step"
    np.testing.assert_array_equal(goals[relabelled, 2], 100 * ge + gt)  # an achieved goal as stored
    # every later step is drawn (episode 1, step 2 -> steps 2..6), and the running episode's only up to its last
    picks = gt[(e[relabelled] == 1) & (t[relabelled] == 2)]
    assert set(picks.tolist()) == {2, 3, 4, 5, 6}
    assert gt[e[relabelled] == 2].max() == 3
    # rewards recomputed: 0 where the new goal is the transition's own achieved goal, else -1
    own = relabelled & np.all(goals == batch["achieved_goals"], axis=1)
    np.testing.assert_array_equal(batch["rewards"][own, 0], 0.0)
    np.testing.assert_array_equal(batch["rewards"][relabelled & ~own, 0], -1.0)
    np.testing.assert_array_equal(batch["rewards"][~relabelled, 0], -1.0)


def test_no_relabels_with_k_zero_and_the_state_round_trip():
    buf = _buffer(k=0)
    _fill(buf, [3, 3])
    assert np.all(buf.random_batch(200)["observations"][:, OBS:] == -1)
    a, b = _buffer(k=4, seed=3), _buffer(k=4, seed=9)
    _fill(a, [4, 6, 2])
    b.load_state_dict(a.state_dict())
    for x, y in zip(a.random_batch(64).values(), b.random_batch(64).values()):
        np.testing.assert_array_equal(x, y)


def test_a_ring_buffer_keeps_episode_bounds_across_the_wrap():
    buf = _buffer(k=1000, size=10)
    _fill(buf, [6, 6, 5])  # 17 samples in 10 slots: episode 1's steps 3..5 and episode 2 remain
    batch = buf.random_batch(2000)
    goals, achieved = batch["observations"][:, OBS:], batch["achieved_goals"]
    r = ~np.all(goals == -1, axis=1)
    assert r.mean() > 0.99 and np.all(goals[r, 0] == achieved[r, 0]) and np.all(goals[r, 1] >= achieved[r, 1])


@pytest.mark.parametrize("task,policy", [("reach-v3", "SawyerReachV3Policy"), ("push-v3", "SawyerPushV3Policy"),
                                         ("pick-place-v3", "SawyerPickPlaceV3Policy")])
def test_metaworld_goal_task_reward_agrees_with_metaworld_success(task, policy):
    """MetaWorld's scripted policy reaches the goal: the sparse reward is 0 exactly where
    MetaWorld's own success test passes, and the desired goal is the task's target."""
    import metaworld.policies

    env = MetaWorldGoalEnv(task, seed=0, max_path_length=200)
    expert = getattr(metaworld.policies, policy)()
    obs, _ = env.reset()
    rewards, successes = [], []
    for _ in range(200):
        flat = np.r_[obs["observation"], obs["desired_goal"]]
        obs, r, _, truncated, info = env.step(expert.get_action(flat))
        rewards.append(r)
        successes.append(info["success"])
        np.testing.assert_allclose(obs["desired_goal"], env.task_env._env._target_pos, atol=1e-6)
        if truncated:
            break
    assert max(successes) == 1.0
    np.testing.assert_array_equal(np.array(rewards) == 0.0, np.array(successes) == 1.0)


def test_flat_goal_envs_put_the_desired_goal_last_and_report_the_achieved_goal():
    env = make_env("goal/metaworld/reach-v3", 0, max_path_length=20)
    obs, _ = env.reset()
    assert obs.shape == (39,) and env.goal_dim == 3
    obs, r, _, _, info = env.step(env.action_space.sample())
    assert r == float(env.compute_reward(info["achieved_goals"], obs[-3:]))
    pytest.importorskip("gymnasium_robotics")  # the robotics extra
    fetch = make_env("gym/FetchReach-v4", 0)
    obs, _ = fetch.reset()
    assert obs.shape == (13,) and fetch.goal_dim == 3
    obs, r, _, _, info = fetch.step(fetch.action_space.sample())
    assert r == float(fetch.compute_reward(info["achieved_goals"], obs[-3:])) and "success" in info


def test_her_on_a_non_goal_env_is_one_line_and_exit_2(tmp_path):
    r = run_cli("run_scripts/her.py", "--quick", "--env", "gym/Hopper-v5", "--log-dir", str(tmp_path))
    err = r.stderr.strip()
    assert r.returncode == 2 and "is not a goal env" in err and len(err.splitlines()) == 1, err
    assert not any(tmp_path.iterdir())
