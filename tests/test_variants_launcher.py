import json

import pytest
import torch

from experiment_utils.launcher import build_parser, variants_from_args
from experiment_configs.registry import default_variant, get, validate
from lifelong_rl.variants import ConfigError, Param, expand_sweep, merge_variant, parse_sweep

from conftest import run_cli


def _variants(argv, sweep_values=None):
    return variants_from_args(build_parser().parse_args(argv), default_variant("sac"), sweep_values or {})


def test_unknown_key_names_key_and_valid_keys():
    with pytest.raises(ConfigError) as e:
        merge_variant(default_variant("sac"), {"trainer_kwargs": {"discout": 0.9}})
    msg = str(e.value)
    assert "trainer_kwargs/discout" in msg and "did you mean 'discount'" in msg and "policy_lr" in msg
    with pytest.raises(ConfigError, match="unknown variant key 'bogus'"):
        validate({"algorithm": "sac", "bogus": 1})
    with pytest.raises(ConfigError, match="unknown algorithm 'sak'"):
        get("sak")


def test_set_is_typed_from_default():
    v = _variants(["--set", "trainer_kwargs/discount=0.95", "--set", "replay_buffer_size=1e5",
                   "--set", "policy_kwargs/hidden_sizes=[64,64]", "--set", "logging/save_replay_buffer=true",
                   "--set", "trainer_kwargs/target_entropy=-3.5"])[0]
    assert v["trainer_kwargs"]["discount"] == 0.95
    assert v["replay_buffer_size"] == 100000 and isinstance(v["replay_buffer_size"], int)
    assert v["policy_kwargs"]["hidden_sizes"] == [64, 64]
    assert v["logging"]["save_replay_buffer"] is True
    assert v["trainer_kwargs"]["target_entropy"] == -3.5
    with pytest.raises(ConfigError, match="bad value 'abc'"):
        Param(1.0, "", "float").parse("abc", "x")
    with pytest.raises(ConfigError, match="bad value '0.5'"):
        _variants(["--set", "replay_buffer_size=0.5"])
    with pytest.raises(ConfigError):
        _variants(["--set", "trainer_kwargs=3"])  # a group, not a value


def test_sweep_expansion_is_cartesian_times_seeds():
    vs = _variants(["--seed", "10", "--num-seeds", "2", "--sweep", "trainer_kwargs/policy_lr=1e-3,3e-4",
                    "--sweep", "algorithm_kwargs/batch_size=64,128,256"])
    assert len(vs) == 2 * 3 * 2
    combos = {(v["trainer_kwargs"]["policy_lr"], v["algorithm_kwargs"]["batch_size"], v["seed"]) for v in vs}
    assert len(combos) == 12 and {v["seed"] for v in vs} == {10, 11}
    assert vs[0]["sweep_point"] == {"trainer_kwargs/policy_lr": 1e-3, "algorithm_kwargs/batch_size": 64}
    # sweep_values from a run script combine with --sweep.
    vs = expand_sweep(default_variant("sac"), {"trainer_kwargs/discount": [0.9, 0.99]}, [0])
    assert [v["trainer_kwargs"]["discount"] for v in vs] == [0.9, 0.99]


def test_common_flags_map_to_variant():
    v = _variants(["--env", "gym/Pendulum-v1", "--epochs", "7", "--device", "cpu", "--exp-name", "x",
                   "--snapshot-mode", "gap", "--snapshot-gap", "3", "--quick"])[0]
    assert v["env"] == "gym/Pendulum-v1" and v["algorithm_kwargs"]["num_epochs"] == 7 and v["exp_name"] == "x"
    assert v["logging"]["snapshot_mode"] == "gap" and v["logging"]["snapshot_gap"] == 3
    assert v["policy_kwargs"]["hidden_sizes"] == [32, 32]


def test_dry_run_prints_variants_and_runs_nothing(tmp_path):
    r = run_cli("run_scripts/sac.py", "--dry-run", "--num-seeds", "2", "--sweep", "trainer_kwargs/discount=0.9,0.99",
                "--log-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    vs = json.loads(r.stdout)
    assert len(vs) == 4 and not any(tmp_path.iterdir())


@pytest.mark.parametrize("args,needle", [
    (["--set", "trainer_kwargs/discout=0.9"], "unknown variant key 'trainer_kwargs/discout'"),
    (["--env", "metaworld/reach-v9"], "unknown MetaWorld task 'reach-v9'"),
    (["--env", "gym/Nope-v0"], "unknown gymnasium env 'Nope-v0'"),
    (["--set", "algorithm=ppo_nope"], "unknown algorithm 'ppo_nope'"),
    (["--resume", "/no/such/run"], "run directory not found"),
    (["--snapshot-mode", "sometimes"], "bad value 'sometimes' for 'logging/snapshot_mode': expected one of all, last"),
])
def test_bad_input_is_one_line_exit_2(args, needle, tmp_path):
    base = [] if "--resume" in args else ["--quick", "--log-dir", str(tmp_path)]
    r = run_cli("run_scripts/sac.py", *base, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    err = r.stderr.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert not list(tmp_path.rglob("progress.csv"))


def test_a_bug_in_one_parallel_run_is_recorded_in_its_error_txt(tmp_path, monkeypatch):
    """In a parallel sweep an unexpected exception becomes that run's error.txt (traceback kept) and an
    error result, so the other runs go on; a single local run raises it as it is."""
    import experiment_configs.base_experiment as base
    from experiment_utils.launcher import _run_unit

    def broken(variant, log_dir, resume_from=None):
        raise RuntimeError("boom in the trainer")

    monkeypatch.setattr(base, "experiment", broken)
    log_dir, threads = str(tmp_path), torch.get_num_threads()
    try:
        [(d, err, _, code)] = _run_unit([({"seed": 0}, log_dir, None)], 1)  # sets this process's threads to 1
    finally:
        torch.set_num_threads(threads)
    assert d == log_dir and err == "RuntimeError: boom in the trainer (traceback in error.txt)" and code == 1
    text = (tmp_path / "error.txt").read_text()
    assert "Traceback" in text and "boom in the trainer" in text
    with pytest.raises(RuntimeError, match="boom"):
        _run_unit([({"seed": 0}, log_dir, None)], 0)


def test_strs_param_parses_comma_separated_names():
    p = Param([], "datasets", "strs")
    assert p.parse("a,b-v0", "k") == ["a", "b-v0"] and p.parse("", "k") == [] and p.parse("[x, y]", "k") == ["x", "y"]
    assert p.check(("a",), "k") == ["a"]
    with pytest.raises(ConfigError, match="a list of names"):
        p.check([1], "k")
    assert parse_sweep("k=a,b;c", {"k": p}) == ("k", [["a", "b"], ["c"]])
