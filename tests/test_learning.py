"""Learning signal: SAC on Pendulum-v1 clearly improves within a few thousand steps (~30 s; `slow`:
run by `make test-all`)."""
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
