import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from experiment_configs.base_experiment import experiment
from lifelong_rl.core.logger import CsvTable, Logger, SnapshotError, latest_snapshot, load_snapshot

from conftest import ROOT, run_cli, tiny_variant


def test_logger_writes_run_files_and_grows_header(tmp_path):
    lg = Logger(str(tmp_path), {"a": 1, "nested": {"b": [1, 2]}}, snapshot_mode="gap_and_last", snapshot_gap=2, echo=False)
    lg.log("hello")
    lg.record_dict({"Epoch": 0, "x": 1.5})
    lg.dump_tabular({"time/epoch (s)": 0.1})
    lg.record_dict({"Epoch": 1, "x": 2.5, "y": 3})  # a new column appears
    lg.dump_tabular({"time/epoch (s)": 0.2})
    for epoch in range(4):
        lg.save_snapshot(epoch, {"epoch": epoch}, is_last=epoch == 3)
    lg.close()
    assert json.load(open(tmp_path / "variant.json")) == {"a": 1, "nested": {"b": [1, 2]}}
    df = pd.read_csv(tmp_path / "progress.csv")
    assert list(df.columns) == ["Epoch", "x", "y"] and df["x"].tolist() == [1.5, 2.5] and np.isnan(df["y"][0])
    assert "hello" in open(tmp_path / "debug.log").read()
    assert pd.read_csv(tmp_path / "timings.csv")["Epoch"].tolist() == [0, 1]
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["itr_0.pt", "itr_2.pt", "itr_3.pt", "params.pt"]


@pytest.mark.parametrize("mode,expected", [("all", ["itr_0.pt", "itr_1.pt", "itr_2.pt", "params.pt"]),
                                           ("last", ["params.pt"]), ("gap", ["itr_0.pt", "itr_2.pt"]),
                                           ("none", [])])
def test_snapshot_modes(tmp_path, mode, expected):
    lg = Logger(str(tmp_path), {}, snapshot_mode=mode, snapshot_gap=2, echo=False)
    for epoch in range(3):
        lg.save_snapshot(epoch, {"epoch": epoch}, is_last=epoch == 2)
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == expected


def test_truncate_after_drops_later_epochs(tmp_path):
    t = CsvTable(str(tmp_path / "p.csv"))
    for e in range(6):
        t.append({"Epoch": e, "v": e * 10})
    assert t.truncate_after(3) == 2
    assert pd.read_csv(tmp_path / "p.csv")["Epoch"].tolist() == [0, 1, 2, 3]


def test_missing_and_corrupt_snapshots(tmp_path):
    with pytest.raises(SnapshotError, match="not found"):
        load_snapshot(str(tmp_path / "none.pt"))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00not a snapshot")
    with pytest.raises(SnapshotError, match="corrupt"):
        load_snapshot(str(bad))
    torch.save({"foo": 1}, tmp_path / "other.pt")
    with pytest.raises(SnapshotError, match="not a lifelong_rl snapshot"):
        load_snapshot(str(tmp_path / "other.pt"))
    for args in ([str(bad)], [str(tmp_path / "none.pt")]):
        r = run_cli("scripts/eval_snapshot.py", *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error:")


class _RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_a_snapshot_that_would_run_code_is_refused_unexecuted(tmp_path):
    evil = _RunsCodeWhenUnpickled()
    evil.marker = str(tmp_path / "code_ran")
    torch.save({"variant": {}, "epoch": 0, "trainer": {}, "payload": evil}, tmp_path / "evil.pt")
    with pytest.raises(SnapshotError, match="corrupt or unreadable"):
        load_snapshot(str(tmp_path / "evil.pt"))
    assert not os.path.exists(evil.marker)
    # Numpy arrays, scalars and RNG states (what real snapshots hold) still load.
    state = {"variant": {}, "epoch": 3, "trainer": {"a": np.arange(4.0), "s": np.float64(2.5), "i": np.int64(7)},
             "rng": np.random.RandomState(0).get_state(), "gen": np.random.default_rng(0).bit_generator.state}
    torch.save(state, tmp_path / "ok.pt")
    back = load_snapshot(str(tmp_path / "ok.pt"))
    assert back["epoch"] == 3 and back["trainer"]["s"] == 2.5 and back["trainer"]["i"] == 7
    np.testing.assert_array_equal(back["trainer"]["a"], np.arange(4.0))
    np.testing.assert_array_equal(back["rng"][1], state["rng"][1])
    # Every scalar and array dtype a buffer or metric may carry (each needs its dtype class allowed).
    codes = "?bhilqBHILQefdgFDG"
    typed = {"variant": {}, "epoch": 0, "trainer": {c: np.dtype(c).type(1) for c in codes},
             "arrays": {c: np.ones(2, dtype=c) for c in codes}}
    torch.save(typed, tmp_path / "typed.pt")
    back = load_snapshot(str(tmp_path / "typed.pt"))
    for c in codes:
        assert back["trainer"][c].dtype == np.dtype(c) and back["trainer"][c] == 1
        assert back["arrays"][c].dtype == np.dtype(c)


def test_snapshot_round_trip_same_actions_in_fresh_process(tmp_path):
    algo = experiment(tiny_variant(epochs=2), str(tmp_path / "run"))
    obs = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    live = np.stack([algo.trainer.policy.get_action(o, deterministic=True) for o in obs])
    snap = load_snapshot(str(tmp_path / "run" / "params.pt"))
    assert snap["epoch"] == 1 and snap["variant"]["env"] == "gym/Pendulum-v1"
    code = (
        "import json,sys,numpy as np;from experiment_configs.evaluation import load_policy;"
        "_,pi,_=load_policy(sys.argv[1]);obs=np.array(json.loads(sys.argv[2]),dtype=np.float32);"
        "print(json.dumps([pi.get_action(o).tolist() for o in obs]))"
    )
    r = run_cli("-c", code, str(tmp_path / "run" / "params.pt"), json.dumps(obs.tolist()))
    assert r.returncode == 0, r.stderr
    assert np.array_equal(np.array(json.loads(r.stdout), dtype=np.float32), live)
    r = run_cli("scripts/eval_snapshot.py", str(tmp_path / "run" / "itr_0.pt"), "--episodes", "2", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["episodes"] == 2 and res["mean_length"] == 50 and res["success_rate"] is None


def _progress(run_dir):
    return pd.read_csv(os.path.join(run_dir, "progress.csv"))


def test_a_new_run_refuses_a_dir_that_holds_a_run_and_changes_nothing(tmp_path):
    from lifelong_rl.variants import ConfigError

    run = tmp_path / "run"
    experiment(tiny_variant(epochs=1), str(run))
    before = {name: (run / name).read_bytes() for name in ("progress.csv", "variant.json", "params.pt")}
    with pytest.raises(ConfigError, match=r"already holds a run \(params.pt, progress.csv with 1 epochs\)"):
        experiment(tiny_variant(epochs=3), str(run))
    assert {name: (run / name).read_bytes() for name in before} == before
    # A dir with only the files a run writes before its first epoch (killed early) may be reused.
    early = tmp_path / "early"
    early.mkdir()
    (early / "debug.log").write_text("started\n")
    experiment(tiny_variant(epochs=1), str(early))
    assert _progress(str(early))["Epoch"].tolist() == [0]


def test_same_seed_same_progress_csv(tmp_path):
    for name in ("a", "b"):
        r = run_cli("run_scripts/sac.py", "--quick", "--env", "gym/Pendulum-v1", "--seed", "3", "--log-dir",
                    str(tmp_path / name), "--no-progress", "--epochs", "3")
        assert r.returncode == 0, r.stderr
    a, b = (open(next((tmp_path / n).rglob("progress.csv"))).read() for n in ("a", "b"))
    assert a == b and len(a.splitlines()) == 4
    r = run_cli("run_scripts/sac.py", "--quick", "--env", "gym/Pendulum-v1", "--seed", "4", "--log-dir",
                str(tmp_path / "c"), "--no-progress", "--epochs", "3")
    assert open(next((tmp_path / "c").rglob("progress.csv"))).read() != a


@pytest.mark.parametrize("save_buffer", [False, True])
def test_resume_after_sigkill_has_contiguous_epochs(tmp_path, save_buffer):
    """SIGKILL a run mid-training, resume from its last snapshot: epochs 0..N-1 once each; with the
    buffer in the snapshot, the same progress.csv as an uninterrupted run."""
    epochs = 30
    args = [sys.executable, "run_scripts/sac.py", "--quick", "--env", "gym/Pendulum-v1", "--epochs", str(epochs),
            "--log-dir", str(tmp_path), "--no-progress", "--snapshot-mode", "last"]
    if not save_buffer:
        args += ["--set", "logging/save_replay_buffer=false"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait for epoch 4 for as long as the run is alive: a wall-clock deadline fails on a busy machine.
    deadline = time.time() + 900
    run_dir = None
    while proc.poll() is None and time.time() < deadline:
        found = list(tmp_path.rglob("progress.csv"))
        if found and len(open(found[0]).read().splitlines()) >= 5:
            run_dir = str(found[0].parent)
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert run_dir is not None, "run did not reach epoch 4"
    killed_rows = len(_progress(run_dir))
    assert killed_rows < epochs
    snap_epoch = load_snapshot(latest_snapshot(run_dir))["epoch"]
    assert snap_epoch >= killed_rows - 2
    r = run_cli("run_scripts/sac.py", "--resume", run_dir, "--no-progress")
    assert r.returncode == 0, r.stderr
    df = _progress(run_dir)
    assert df["Epoch"].tolist() == list(range(epochs))
    steps = np.diff(df["Env Steps Total"].to_numpy())
    if save_buffer:
        assert (steps == 100).all()  # counters and buffer restored: 100 env steps per epoch throughout
        r = run_cli(*args[1:5], "--epochs", str(epochs), "--log-dir", str(tmp_path / "uninterrupted"), "--no-progress")
        assert r.returncode == 0, r.stderr
        assert open(next((tmp_path / "uninterrupted").rglob("progress.csv"))).read() == open(os.path.join(run_dir, "progress.csv")).read()
    else:
        # Without a saved buffer, resume refills it with the 100 warm-up steps (real env steps, counted).
        assert (steps[steps != 100] == 200).all() and (steps == 200).sum() == 1
        assert steps.tolist().index(200) == snap_epoch
    log = open(os.path.join(run_dir, "debug.log")).read()
    assert "resumed after epoch" in log
    assert ("holds no replay buffer" in log) == (not save_buffer)
    # A finished run resumes to nothing.
    r = run_cli("run_scripts/sac.py", "--resume", run_dir)
    assert r.returncode == 0 and "already finished" in r.stdout


def test_cli_quick_runs(tmp_path):
    for env in ("metaworld/reach-v3", "gym/Pendulum-v1"):
        r = run_cli("run_scripts/sac.py", "--quick", "--env", env, "--log-dir", str(tmp_path), "--exp-name", "q")
        assert r.returncode == 0, r.stderr
    runs = sorted(p.parent for p in tmp_path.rglob("progress.csv"))
    assert len(runs) == 2
    mw = [d for d in runs if json.load(open(d / "variant.json"))["env"] == "metaworld/reach-v3"][0]
    df = _progress(mw)
    assert len(df) == 2 and "evaluation/Success Rate" in df and df["evaluation/Success Rate"].between(0, 1).all()
    assert {"variant.json", "progress.csv", "debug.log", "params.pt", "timings.csv"} <= {p.name for p in mw.iterdir()}


def test_optional_loggers_and_local_par(tmp_path):
    r = run_cli("run_scripts/sac.py", "--quick", "--env", "gym/Pendulum-v1", "--log-to-wandb", "--log-to-tensorboard",
                "--log-dir", str(tmp_path / "lg"), "--no-progress", env_extra={"WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    assert r.returncode == 0, r.stderr
    run = next((tmp_path / "lg").rglob("progress.csv")).parent
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert list((run / "wandb").glob("offline-run-*"))
    r = run_cli("run_scripts/sac.py", "--quick", "--env", "gym/Pendulum-v1", "--num-seeds", "2", "--mode", "local_par",
                "--log-dir", str(tmp_path / "par"))
    assert r.returncode == 0, r.stderr
    runs = sorted(p.parent.name for p in (tmp_path / "par").rglob("progress.csv"))
    assert len(runs) == 2 and runs[0].endswith("_s0") and runs[1].endswith("_s1")


def test_batch_loop_collects_then_trains(tmp_path):
    v = tiny_variant(epochs=2, loop="batch", num_expl_steps_per_train_loop=50, num_train_loops_per_epoch=2,
                     num_trains_per_train_loop=10)
    algo = experiment(v, str(tmp_path))
    df = _progress(str(tmp_path))
    assert df["Env Steps Total"].tolist() == [200, 300]  # 100 warm-up + 2 loops x 50 per epoch
    assert df["trainer/Num Train Steps"].tolist() == [20, 40]
    assert algo.trainer.get_diagnostics()["Num Train Steps"] == 40


def test_nan_loss_stops_with_clear_error_and_keeps_last_snapshot(tmp_path, monkeypatch):
    from lifelong_rl.core.loop import NaNLossError
    from lifelong_rl.trainers.sac import SACTrainer

    calls = {"n": 0}

    def finite_until_third_epoch(self):
        calls["n"] += 1
        return calls["n"] < 3

    monkeypatch.setattr(SACTrainer, "losses_finite", finite_until_third_epoch)
    with pytest.raises(NaNLossError, match="non-finite loss at epoch 2"):
        experiment(tiny_variant(epochs=5), str(tmp_path))
    assert load_snapshot(str(tmp_path / "params.pt"))["epoch"] == 1
    assert _progress(str(tmp_path))["Epoch"].tolist() == [0, 1]
    # From the command line: a reward scale past float32 range poisons the first update -> exit 1, one line.
    r = run_cli("run_scripts/sac.py", "--quick", "--env", "gym/Pendulum-v1", "--set", "trainer_kwargs/reward_scale=1e39",
                "--log-dir", str(tmp_path / "cli"), "--no-progress")
    assert r.returncode == 1 and "non-finite loss at epoch 0" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
