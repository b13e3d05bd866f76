"""Learning signal: each method clearly improves on a small task within a short budget (each test
0.5-3 min on one core, so `slow`: run by `make test-all`)."""
import pandas as pd
import pytest

from experiment_configs.base_experiment import experiment

from conftest import tiny_variant


@pytest.mark.slow
def test_sac_learns_pendulum(tmp_path):
    v = tiny_variant(epochs=10, num_expl_steps_per_train_loop=500, num_trains_per_train_loop=500, max_path_length=200,
                     num_eval_steps_per_epoch=600, min_num_steps_before_training=500, batch_size=128)
    v["policy_kwargs"]["hidden_sizes"] = v["qf_kwargs"]["hidden_sizes"] = [64, 64]
    v["trainer_kwargs"].update(policy_lr=1e-3, qf_lr=1e-3)
    v["logging"]["snapshot_mode"] = "none"
    experiment(v, str(tmp_path))
    ret = pd.read_csv(tmp_path / "progress.csv")["evaluation/Average Returns"]
    # A random or untrained policy scores about -1200 to -1500 per 200-step episode.
    assert ret.iloc[0] < -1000
    assert ret.tail(2).mean() > -800 and ret.tail(2).mean() > ret.iloc[0] + 500, ret.round(0).tolist()


def _run(tmp_path, name, sets, key="evaluation/Average Returns"):
    from experiment_configs.registry import default_variant
    from lifelong_rl.variants import set_path

    v = default_variant(name)
    for k, val in sets.items():
        set_path(v, k, val)
    v["logging"].update(progress_bar=False, snapshot_mode="none")
    experiment(v, str(tmp_path))
    return pd.read_csv(tmp_path / "progress.csv")[key]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["td3", "ddpg"])
def test_deterministic_actor_critics_learn_pendulum(tmp_path, name):
    """TD3 / DDPG on Pendulum-v1, 6k env steps (1k random): from about -1300 to above -800."""
    ret = _run(tmp_path, name, {
        "env": "gym/Pendulum-v1", "policy_kwargs/hidden_sizes": [64, 64], "qf_kwargs/hidden_sizes": [64, 64],
        "trainer_kwargs/policy_lr": 1e-3, "trainer_kwargs/qf_lr": 1e-3, "algorithm_kwargs/num_epochs": 10,
        "algorithm_kwargs/batch_size": 128, "algorithm_kwargs/max_path_length": 200,
        "algorithm_kwargs/num_expl_steps_per_train_loop": 500, "algorithm_kwargs/num_trains_per_train_loop": 500,
        "algorithm_kwargs/num_eval_steps_per_epoch": 600, "algorithm_kwargs/min_num_steps_before_training": 1000})
    assert ret.iloc[0] < -1000
    assert ret.tail(2).mean() > -800 and ret.tail(2).mean() > ret.iloc[0] + 500, ret.round(0).tolist()


@pytest.mark.slow
@pytest.mark.parametrize("name,sets", [("ppo", {}), ("npg", {}),
                                       ("vpg", {"trainer_kwargs/policy_lr": 3e-3})])
def test_policy_gradients_learn_inverted_pendulum(tmp_path, name, sets):
    """PPO / NPG / VPG on InvertedPendulum-v5 (balancing: 1 per step up to 1000), 30k env steps in
    512-step rollouts: from below 200 after the first 1024 steps to above 500."""
    ret = _run(tmp_path, name, {
        "env": "gym/InvertedPendulum-v5", "algorithm_kwargs/num_epochs": 30, "algorithm_kwargs/rollout_steps": 512,
        "algorithm_kwargs/rollouts_per_epoch": 2, "algorithm_kwargs/num_eval_steps_per_epoch": 1000, **sets})
    assert ret.iloc[0] < 200
    assert ret.tail(2).mean() > 500, ret.round(0).tolist()


@pytest.mark.slow
def test_her_learns_reach_with_a_sparse_reward(tmp_path):
    """SAC + HER on goal/metaworld/reach-v3 (sparse reward, a new goal every 50-step episode),
    1k random then 12k env steps: the evaluation success rate climbs from below 0.3 after the first
    epoch to above 0.3 over the last 3 (10-13k steps; seed 0 measured 0.6, 0.2, 0.8 at 8-10k steps)."""
    succ = _run(tmp_path, "her", {
        "env_kwargs/new_goal_each_episode": True, "trainer_kwargs/alpha": 0.1, "trainer_kwargs/policy_lr": 1e-3,
        "trainer_kwargs/qf_lr": 1e-3, "algorithm_kwargs/num_epochs": 12, "algorithm_kwargs/max_path_length": 50,
        "algorithm_kwargs/num_expl_steps_per_train_loop": 1000, "algorithm_kwargs/num_trains_per_train_loop": 1000,
        "algorithm_kwargs/num_eval_steps_per_epoch": 500, "algorithm_kwargs/min_num_steps_before_training": 1000},
        key="evaluation/Success Rate")
    assert succ.iloc[0] < 0.3 and succ.tail(3).mean() > 0.3, succ.tolist()
