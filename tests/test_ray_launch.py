"""--mode ray with a real Ray (a head node started here on 127.0.0.1): a sweep of two seeds writes the
progress.csv files of --mode local, and a run whose worker is SIGKILLed mid-run is retried by Ray,
resumes from its last snapshot and ends equal to an uninterrupted run."""
import glob
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from experiment_utils.launcher import run_experiment
from experiment_utils.ray_launch import _ray_unit, continue_attempt, pack_dirs, unpack_dirs

ray = pytest.importorskip("ray", reason="the dist extra (make test installs it)")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAY_CLI = os.path.join(os.path.dirname(sys.executable), "ray")
QUICK = ["--quick", "--env", "gym/Pendulum-v1", "--no-progress"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The test cluster authenticates with a token of its own, given to the head and to every driver.
ENV = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "token",
       "RAY_AUTH_TOKEN": secrets.token_hex(32)}


@pytest.fixture(scope="module")
def ray_head():
    port = free_port()
    subprocess.run([RAY_CLI, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2",
                    "--include-dashboard", "false", "--disable-usage-stats"], check=True, capture_output=True,
                   timeout=120, env=ENV)
    yield f"127.0.0.1:{port}"
    # Stop this cluster's processes only (`ray stop` would stop every Ray on the machine).
    mine = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and ours(pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(2)


def script(*args, **kw):
    env = ENV
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "run_scripts", "sac.py"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def progress(run_dir):
    df = pd.read_csv(os.path.join(run_dir, "progress.csv"))
    return df[[c for c in df.columns if not c.startswith("time/")]]


def ours(pid: str) -> bool:
    """A worker of this test's cluster: it carries the cluster's token in its environment."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"RAY_AUTH_TOKEN={ENV['RAY_AUTH_TOKEN']}".encode() in f.read().split(b"\0")
    except OSError:
        return False


def rows(path):
    try:
        with open(path) as f:
            return max(0, sum(1 for _ in f) - 1)
    except FileNotFoundError:
        return 0


def test_ray_sweep_and_a_killed_worker_end_as_local_runs(ray_head, tmp_path):
    # 1. A 2-seed sweep on the cluster: the progress.csv of local runs.
    common = QUICK + ["--num-seeds", "2", "--log-dir", str(tmp_path)]
    for p in (script(*common, "--exp-name", "ray", "--mode", "ray", "--ray-address", ray_head),
              script(*common, "--exp-name", "local")):
        out = p.communicate(timeout=300)[0]
        assert p.returncode == 0, out
    for mine, theirs in zip(sorted(glob.glob(str(tmp_path / "ray" / "*"))), sorted(glob.glob(str(tmp_path / "local" / "*")))):
        pd.testing.assert_frame_equal(progress(mine), progress(theirs))
    assert len(glob.glob(str(tmp_path / "ray" / "*"))) == 2 and not glob.glob(str(tmp_path / "ray" / ".driver-*"))

    # 2. SIGKILL the worker mid-run: Ray retries the task, which resumes from the last snapshot.
    long = QUICK + ["--epochs", "10", "--set", "algorithm_kwargs/num_trains_per_train_loop=200", "--log-dir", str(tmp_path)]
    p = script(*long, "--exp-name", "killed", "--mode", "ray", "--ray-address", ray_head)
    deadline, killed = time.time() + 240, []
    while time.time() < deadline and not killed:
        runs = glob.glob(str(tmp_path / "killed" / "*" / "progress.csv"))
        if runs and rows(runs[0]) >= 3 and os.path.isfile(os.path.join(os.path.dirname(runs[0]), "params.pt")):
            found = [pid for pid in subprocess.run(["pgrep", "-f", "ray::_ray_unit"], capture_output=True, text=True).stdout.split()
                     if ours(pid)]
            for pid in found:
                os.kill(int(pid), signal.SIGKILL)
            killed, rows_at_kill = found, rows(runs[0])
        time.sleep(0.02)
    out = p.communicate(timeout=300)[0]
    assert killed and rows_at_kill < 10, out  # killed mid-run
    assert p.returncode == 0, out
    uninterrupted = script(*long, "--exp-name", "whole")
    assert uninterrupted.wait(timeout=300) == 0
    run = os.path.dirname(runs[0])
    with open(os.path.join(run, "debug.log")) as f:
        assert "resumed after epoch" in f.read()  # the retry continued from a snapshot
    pd.testing.assert_frame_equal(progress(run), progress(glob.glob(str(tmp_path / "whole" / "*"))[0]))
    assert len(progress(run)) == 10


def test_retry_before_any_snapshot_starts_afresh(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "progress.csv").write_text("Epoch\n0\n")
    unit = [({"seed": 0}, str(d), None)]
    assert continue_attempt(unit) == unit and not d.exists()


def test_a_task_that_cannot_see_the_driver_marker_sends_its_dirs_back(tmp_path):
    """The task function itself (no Ray needed to call it): with the driver's marker file visible it
    returns nothing to unpack; without it (another node, no shared filesystem) its run dir, packed."""
    from conftest import tiny_variant

    marker = tmp_path / ".driver-x"
    marker.touch()
    run, threads = tmp_path / "elsewhere" / "run_s0", torch.get_num_threads()
    try:  # the task sets this process's torch threads
        results, packed = _ray_unit([(tiny_variant(epochs=1), str(tmp_path / "shared" / "run_s0"), None)], str(marker), 1)
        assert results[0][3] == 0 and packed is None
        results, packed = _ray_unit([(tiny_variant(epochs=1), str(run), None)], str(tmp_path / ".driver-missing"), 1)
    finally:
        torch.set_num_threads(threads)
    files = unpack_dirs(packed, root=str(tmp_path / "driver"))
    assert results[0][3] == 0 and str(tmp_path / "driver") + str(run / "progress.csv") in files


def test_run_dirs_travel_back_to_the_driver(tmp_path):
    """A run on another node (no shared filesystem) comes back packed and lands at the same path."""
    src = tmp_path / "node" / "exp" / "run_s0"
    src.mkdir(parents=True)
    (src / "progress.csv").write_text("Epoch\n0\n")
    files = unpack_dirs(pack_dirs([str(src)]), root=str(tmp_path / "driver"))
    assert len(files) == 1 and open(files[0]).read() == "Epoch\n0\n"
    assert files[0] == str(tmp_path / "driver") + str(src / "progress.csv")  # the same absolute path under the root


def test_ray_missing_is_one_line_and_exit_2(tmp_path):
    code = ("import sys; sys.modules['ray'] = None; from experiment_utils.launcher import run_experiment; "
            f"sys.exit(run_experiment({{'algorithm': 'sac'}}, argv=['--quick', '--mode', 'ray', '--log-dir', {str(tmp_path)!r}]))")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "[dist]" in p.stderr, p.stderr
    assert not os.listdir(tmp_path)


def test_bad_ray_flags_are_one_line_errors(tmp_path, capsys):
    assert run_experiment({"algorithm": "sac"}, argv=["--quick", "--cpus-per-run", "2", "--log-dir", str(tmp_path)]) == 2
    assert "applies to --mode ray only" in capsys.readouterr().err
    assert run_experiment({"algorithm": "sac"}, argv=["--quick", "--mode", "ray", "--ray-address", "nowhere",
                                                      "--log-dir", str(tmp_path)]) == 2
    assert "HOST:PORT" in capsys.readouterr().err
    assert not os.listdir(tmp_path)
