import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

from experiment_configs.base_experiment import experiment
from lifelong_rl.continual.regularizers import ParameterRegularizer, actor_fisher, critic_fisher
from lifelong_rl.core.logger import load_snapshot
from lifelong_rl.models.networks import ParallelizedEnsemble
from lifelong_rl.policies.tanh_gaussian_policy import TanhGaussianPolicy
from experiment_configs.registry import default_variant, quick_overrides, validate
from lifelong_rl.variants import ConfigError, set_path

from conftest import reset_goals, run_cli


def quick_continual(method, stream="reach,push", **continual):
    v = default_variant("continual_sac")
    for k, val in quick_overrides("continual_sac").items():
        set_path(v, k, val)
    v["continual"].update(stream=stream, cl_method=method, num_tasks=0, **continual)
    v["logging"].update(progress_bar=False, snapshot_mode="all")
    return v


def test_critic_fisher_of_a_linear_critic_is_mean_squared_input():
    torch.manual_seed(0)
    q = ParallelizedEnsemble(2, 3, 1, [])  # Q_j(x) = x W_j + b_j: dQ/dW_j = x, dQ/db_j = 1
    obs, act = torch.randn(50, 2), torch.randn(50, 1)
    f = critic_fisher(q, obs, act)
    x = torch.cat([obs, act], -1)
    expected_w = (x ** 2).mean(0).unsqueeze(-1)  # [in, 1], the same for both members
    assert torch.allclose(f["layers.0.weight"], expected_w.expand(2, 3, 1), atol=1e-6)
    assert torch.allclose(f["layers.0.bias"], torch.ones(2, 1, 1))


def test_actor_fisher_of_a_linear_gaussian_policy_hand_computed():
    """Linear policy, 1-D action: mean = w_m s + b_m, log_std = w_s s + b_s, u = mean + std * eps fixed.
    d log N(u; mean, std)/d mean = eps / std, d/d log_std = eps^2 - 1 (the tanh term has no theta)."""
    torch.manual_seed(0)
    pi = TanhGaussianPolicy(2, 1, [])
    with torch.no_grad():
        pi.net.last.weight.mul_(0.1)
    s, eps = torch.randn(40, 2), torch.randn(40, 1)
    f = actor_fisher(pi, s, eps)
    out = pi.net(s).detach()
    std = out[:, 1:].exp()
    g_mean, g_logstd = eps / std, eps ** 2 - 1
    expected_w = torch.stack([((g_mean * s) ** 2).mean(0), ((g_logstd * s) ** 2).mean(0)])
    expected_b = torch.cat([(g_mean ** 2).mean(0), (g_logstd ** 2).mean(0)])
    assert torch.allclose(f["net.last.weight"], expected_w, rtol=1e-4, atol=1e-6)
    assert torch.allclose(f["net.last.bias"], expected_b, rtol=1e-4, atol=1e-6)


def test_regularizer_penalty_and_consolidation():
    lin = torch.nn.Linear(2, 1)
    reg = ParameterRegularizer(lin, coef=10.0, exclude=[lin.bias])
    assert not reg.active
    reg.consolidate({"weight": torch.tensor([[1.0, 2.0]])})
    with torch.no_grad():
        lin.weight.add_(torch.tensor([[0.5, -1.0]]))
    # 10 * (1 * 0.25 + 2 * 1.0); the bias is excluded.
    assert reg.penalty().item() == pytest.approx(22.5)
    reg.consolidate({"weight": torch.tensor([[1.0, 1.0]])})  # Fishers add up, anchor moves
    assert torch.equal(reg.weights["weight"], torch.tensor([[2.0, 3.0]])) and reg.penalty().item() == 0.0


def test_task_order_and_buffer_semantics(tmp_path):
    algo = experiment(quick_continual("finetune", stream="reach,push,window-close"), str(tmp_path / "ft"))
    df = pd.read_csv(tmp_path / "ft" / "progress.csv")
    assert df["continual/task index"].tolist() == [0, 0, 1, 1, 2, 2]
    assert df["continual/steps"].tolist() == [100, 200, 300, 400, 500, 600]
    assert set(algo.schedule.buffer.task_ids[: len(algo.schedule.buffer)]) == {2}  # reset at each task
    S = pd.read_csv(tmp_path / "ft" / "success_matrix.csv")
    assert S.shape == (3, 4) and list(S.columns[1:]) == ["00_reach-v3", "01_push-v3", "02_window-close-v3"]
    algo = experiment(quick_continual("perfect_memory"), str(tmp_path / "pm"))
    ids = algo.schedule.buffer.task_ids[: len(algo.schedule.buffer)]
    assert len(algo.schedule.buffer) == 400 and np.bincount(ids).tolist() == [200, 200]
    # Task identity: one-hot appended to the 39-dim MetaWorld observation.
    assert algo.schedule.buffer.observations.shape[1] == 41
    assert np.array_equal(algo.schedule.buffer.observations[:400][ids == 1][:, -2:], np.tile([0.0, 1.0], ((ids == 1).sum(), 1)))


@pytest.mark.parametrize("method", ["finetune", "perfect_memory", "reservoir", "multitask", "l2", "ewc"])
def test_two_task_run_each_method(tmp_path, method):
    algo = experiment(quick_continual(method, task_id="none" if method == "reservoir" else "multi_head"), str(tmp_path))
    m = json.load(open(tmp_path / "metrics.json"))
    assert m["method"] == method and m["num_tasks"] == 2 and len(m["success_matrix"]) == 2
    assert 0.0 <= m["average_performance"] <= 1.0
    assert m["forward_transfer"] is None and "unavailable" in m["forward_transfer_note"]
    assert (m["forgetting"] is None) == (method == "multitask")
    if method in ("l2", "ewc"):
        strategy = algo.schedule.strategy
        assert strategy.policy_reg.active and strategy.qf_reg.active
        # Task heads are not regularised.
        assert "net.last.weight" not in strategy.policy_reg.names
    df = pd.read_csv(tmp_path / "progress.csv")
    if method == "multitask":
        assert set(algo.schedule.buffer.task_ids[: len(algo.schedule.buffer)]) == {0, 1}
        # Exploration statistics cover the episodes of every task.
        assert df["exploration/num episodes"].sum() == sum(c.num_paths_total for c in algo.schedule.collectors) > 0
    assert "evaluation/01_push-v3/Success Rate" in df and "continual/average performance" in df
    if method in ("l2", "ewc"):  # the penalties are logged from the second task on, when they act
        for col in ("trainer/Policy Regularizer Penalty", "trainer/QF Regularizer Penalty"):
            assert df[col].isna().tolist() == [True, True, False, False] and (df[col].iloc[2:] > 0).all()
    else:
        assert "trainer/Policy Regularizer Penalty" not in df
    if method in ("finetune", "ewc"):  # scripts/regularizer_probe.py on the final snapshot
        import sys

        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
        import regularizer_probe

        if method == "finetune":
            assert regularizer_probe.main([str(tmp_path / "params.pt")]) == 2
            return
        r = regularizer_probe.probe(str(tmp_path / "params.pt"), task=0)
        assert r["task"] == "reach-v3" and r["states"] == 70 and r["success_current"] in (0.0, 1.0)
        assert r["kl_anchored_to_current"] > 0 and r["penalty_quadratic_estimate"] > 0
        assert set(r["units_with_zero_importance"]) == {"net.hidden.0.weight", "net.hidden.2.weight"}


def test_ewc_on_the_actor_alone(tmp_path):
    algo = experiment(quick_continual("ewc", regularize_critic=False), str(tmp_path))
    assert algo.schedule.strategy.qf_reg is None and algo.schedule.strategy.policy_reg.active
    df = pd.read_csv(tmp_path / "progress.csv")
    assert "trainer/QF Regularizer Penalty" not in df and df["trainer/Policy Regularizer Penalty"].iloc[-1] > 0


def test_resume_mid_stream_restores_task_and_regulariser(tmp_path):
    run = tmp_path / "run"
    experiment(quick_continual("ewc"), str(run))
    full = pd.read_csv(run / "progress.csv")
    # Pretend the run was killed after epoch 1 (the end of task 0): drop the later snapshots.
    for name in ("itr_2.pt", "itr_3.pt", "params.pt"):
        os.remove(run / name)
    snap = load_snapshot(str(run / "itr_1.pt"))
    assert snap["schedule"]["inner"]["env_steps"] == 200 and snap["schedule"]["strategy"]["policy_regularizer"]["anchors"]
    r = run_cli("run_scripts/continual_sac.py", "--resume", str(run), "--no-progress")
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(run / "progress.csv")
    assert df["Epoch"].tolist() == [0, 1, 2, 3] and df["continual/task index"].tolist() == [0, 0, 1, 1]
    assert df.equals(full)  # the whole run, the task after the resume included
    assert len(pd.read_csv(run / "success_matrix.csv")) == 2 and os.path.isfile(run / "metrics.json")


def test_continual_cli_flags_and_errors(tmp_path):
    r = run_cli("run_scripts/continual_sac.py", "--dry-run", "--stream", "cw20", "--num-tasks", "3",
                "--cl-method", "ewc", "--steps-per-task", "1000", "--eval-every", "500", "--eval-episodes", "2",
                "--set", "continual/random_steps_per_task=500")
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)[0]["continual"]
    assert (c["stream"], c["num_tasks"], c["cl_method"], c["steps_per_task"], c["eval_every"], c["eval_episodes"]) == \
        ("cw20", 3, "ewc", 1000, 500, 2)
    for args, needle in ((["--cl-method", "sgd"], "bad value 'sgd' for 'continual/cl_method': expected one of ewc"),
                         (["--stream", "reach,nope"], "nope-v3"),
                         (["--steps-per-task", "1000", "--eval-every", "300"], "must be a multiple"),
                         (["--env", "gym/Pendulum-v1"], "--env does not apply")):
        r = run_cli("run_scripts/continual_sac.py", "--quick", "--log-dir", str(tmp_path), *args)
        assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_plot_scripts_write_pngs(tmp_path):
    experiment(quick_continual("finetune"), str(tmp_path / "cl"))
    r = run_cli("scripts/plot_continual.py", str(tmp_path / "cl"), "--out", str(tmp_path / "cl.png"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "cl.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = run_cli("scripts/plot.py", str(tmp_path / "cl"), "--y", "evaluation/Average Success", "--x", "continual/steps",
                "--out", str(tmp_path / "c.png"))
    assert r.returncode == 0, r.stderr
    r = run_cli("scripts/plot_continual.py", str(tmp_path / "nope"))
    assert r.returncode == 2 and r.stderr.startswith("error:")


def test_stream_goals_fixed_by_default_or_new_each_episode():
    """Default: every reset of a task's env shows the same goal (so one deterministic evaluation
    episode is enough); continual/new_goal_each_episode draws a new goal per reset, train and eval."""
    from experiment_configs.algorithms.continual import stream_envs
    from lifelong_rl.core.seeding import RunSeeds

    v = quick_continual("finetune", stream="reach,push", task_id="none")
    assert v["continual"]["new_goal_each_episode"] is False
    _, envs, _ = stream_envs(v, RunSeeds(0), "exploration", one_hot=False)
    assert [len(set(reset_goals(e, 4))) for e in envs] == [1, 1]
    v["continual"]["new_goal_each_episode"] = True
    _, envs, _ = stream_envs(v, RunSeeds(0), "exploration", one_hot=False)
    assert all(len(set(reset_goals(e, 4))) > 1 for e in envs)


def test_reference_runs_give_forward_transfer_and_a_rerun_skips_them(tmp_path, capsys):
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
    import continual_references

    sets = [f"--set={k}={json.dumps(v)}" for k, v in quick_overrides("continual_sac").items()
            if not k.startswith("continual/")]
    argv = ["--stream", "reach,push", "--steps-per-task", "200", "--eval-every", "100", "--eval-episodes", "1",
            "--log-dir", str(tmp_path / "refs"), "--out", str(tmp_path / "refs.json"), *sets,
            "--set", "continual/episode_length=50", "--set", "continual/random_steps_per_task=50"]
    assert continual_references.main(argv) == 0
    refs = json.load(open(tmp_path / "refs.json"))
    assert list(refs["tasks"]) == ["reach-v3", "push-v3"]
    assert all(c["steps"] == [100, 200] and len(c["success"]) == 2 for c in refs["tasks"].values())
    progress = (tmp_path / "refs" / "reach-v3_s0" / "progress.csv").read_bytes()
    assert "training continual_sac on reach-v3" in capsys.readouterr().out
    assert continual_references.main(argv) == 0  # both finished: nothing runs again, the JSON is rewritten
    assert "training" not in capsys.readouterr().out
    assert (tmp_path / "refs" / "reach-v3_s0" / "progress.csv").read_bytes() == progress
    experiment(quick_continual("finetune", references=str(tmp_path / "refs.json")), str(tmp_path / "ft"))
    m = json.load(open(tmp_path / "ft" / "metrics.json"))
    assert m["forward_transfer"] is not None and len(m["forward_transfer_per_task"]) == 2


def test_continual_world_networks_from_the_variant():
    """policy_kwargs / qf_kwargs activation and layer_norm reach the multi-head actor and critics."""
    from experiment_configs.configs.q_learning.sac import sac_agent

    v = quick_continual("ewc")
    for k in ("policy_kwargs", "qf_kwargs"):
        v[k].update(activation="leaky_relu", layer_norm=True)
    trainer = sac_agent(v, 41, 4, torch.device("cpu"), num_heads=2)["trainer"]
    assert isinstance(trainer.policy.net.hidden[1], torch.nn.LayerNorm)
    assert isinstance(trainer.policy.net.hidden[4], torch.nn.LeakyReLU)
    assert trainer.qfs.first_norm is not None and isinstance(trainer.qfs.act, torch.nn.LeakyReLU)
    assert trainer.qfs(torch.randn(3, 45)).shape == (2, 3, 1)
    v["qf_kwargs"]["activation"] = "lrelu"
    with pytest.raises(ConfigError, match="bad value 'lrelu' for 'qf_kwargs/activation': expected one of relu, leaky_relu"):
        validate(v)


def test_hide_task_id_the_one_hot_only_picks_the_head(tmp_path):
    """With hide_task_id (CW's default) the trunks take the observation without the one-hot: on one
    state, the task-j output is head j of one shared trunk output, whatever the task."""
    from experiment_configs.configs.q_learning.sac import sac_agent

    v = quick_continual("ewc", hide_task_id=True)
    heads, obs_dim, act_dim = 2, 41, 4
    trainer = sac_agent(v, obs_dim, act_dim, torch.device("cpu"), num_heads=heads, hide_task_id=True)["trainer"]
    pi, qfs = trainer.policy, trainer.qfs
    assert pi.net.hidden[0].in_features == obs_dim - heads and qfs.input_size == obs_dim - heads + act_dim
    torch.manual_seed(0)
    state, action = torch.randn(3, obs_dim - heads), torch.randn(3, act_dim)
    trunk_pi = pi.net(state).unflatten(-1, (heads, 2 * act_dim))
    trunk_q = ParallelizedEnsemble.forward(qfs, torch.cat([state, action], -1))
    for j in range(heads):
        obs = torch.cat([state, torch.nn.functional.one_hot(torch.full((3,), j), heads).float()], -1)
        mean, log_std = trunk_pi[:, j].chunk(2, dim=-1)
        dist = pi(obs)
        assert torch.allclose(dist.mean, mean) and torch.allclose(dist.std, log_std.clamp(-20, 2).exp())
        assert torch.allclose(qfs(torch.cat([obs, action], -1)), trunk_q[..., j:j + 1])
    algo = experiment(v, str(tmp_path))
    assert algo.trainer.policy.net.hidden[0].in_features == algo.trainer.policy.obs_dim - 2
    df = pd.read_csv(tmp_path / "progress.csv")
    assert df["continual/task index"].tolist() == [0, 0, 1, 1] and df["trainer/Policy Regularizer Penalty"].iloc[-1] > 0
    r = run_cli("run_scripts/continual_sac.py", "--quick", "--log-dir", str(tmp_path / "bad"),
                "--set", "continual/task_id=one_hot", "--set", "continual/hide_task_id=true")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "hide_task_id needs continual/task_id=multi_head" in r.stderr and not os.path.exists(tmp_path / "bad")
