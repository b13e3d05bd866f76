"""benchmarks/continual_short.py --root: a second invocation skips finished runs and resumes the others."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import continual_short  # noqa: E402
from experiment_utils.launcher import pending_jobs  # noqa: E402


def _snapshot(path, epoch, variant):
    torch.save({"format": 1, "epoch": epoch, "variant": variant, "trainer": {}}, path)


def test_pending_jobs_skip_finished_resume_snapshotted_and_start_the_rest(tmp_path, capsys):
    dirs = {k: tmp_path / k for k in ("done", "half", "fresh_empty")}
    for d in dirs.values():
        d.mkdir()
    (dirs["done"] / "metrics.json").write_text(json.dumps({"average_performance": 1.0}))
    _snapshot(dirs["half"] / "params.pt", 3, {"seed": 7, "from": "snapshot"})
    _snapshot(dirs["half"] / "itr_1.pt", 1, {"seed": 7, "from": "older"})
    jobs = [({"seed": 0}, str(dirs["done"]), None), ({"seed": 1}, str(dirs["half"]), None),
            ({"seed": 2}, str(dirs["fresh_empty"]), None), ({"seed": 3}, str(tmp_path / "not_made_yet"), None)]
    todo = pending_jobs(jobs)
    assert [d for _, d, _ in todo] == [str(dirs["half"]), str(dirs["fresh_empty"]), str(tmp_path / "not_made_yet")]
    variant, _, resume_from = todo[0]
    assert resume_from == str(dirs["half"] / "params.pt") and variant == {"seed": 7, "from": "snapshot"}
    assert todo[1] == ({"seed": 2}, str(dirs["fresh_empty"]), None) and todo[2][2] is None
    assert "resuming" in capsys.readouterr().out


def test_root_runs_keep_their_replay_buffer_for_an_exact_resume():
    args = continual_short.parser("finetune", True).parse_args(["--root", "/tmp/x"])
    assert continual_short.continual_variant("finetune", 0, args)["logging"]["save_replay_buffer"] is True
    args = continual_short.parser("finetune", True).parse_args([])
    assert continual_short.continual_variant("finetune", 0, args)["logging"]["save_replay_buffer"] is False


def test_methods_are_checked_and_none_leaves_the_references_alone(tmp_path, capsys):
    assert continual_short.parse_methods("finetune,ewc,legion") == ["finetune", "ewc", "legion"]
    assert continual_short.parse_methods("none") == [] and continual_short.parse_methods("") == []
    rc = continual_short.main(["--methods", "finetune,fintune", "--root", str(tmp_path / "bench")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "fintune" in err[0] and "finetune" in err[0]
    assert not (tmp_path / "bench").exists()


def test_set_reaches_every_run_and_a_bad_key_is_one_line(tmp_path, capsys):
    argv = ["--root", str(tmp_path / "b"), "--set", "policy_kwargs/layer_norm=true", "--set", "qf_kwargs/activation=leaky_relu"]
    args = continual_short.parser("finetune", True).parse_args(argv)
    v = continual_short.continual_variant("ewc", 0, args)
    assert v["policy_kwargs"]["layer_norm"] is True and v["qf_kwargs"]["activation"] == "leaky_relu"
    assert "policy_kwargs/layer_norm=true" in continual_short.overrides(args)  # the references get it too
    rc = continual_short.main(["--methods", "none", "--root", str(tmp_path / "b"), "--set", "policy_kwargs/layer_nrom=true"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "layer_nrom" in err[0]
    assert not (tmp_path / "b").exists()
