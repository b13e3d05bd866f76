import numpy as np
import pytest

from lifelong_rl.continual.metrics import auc, continual_metrics, forgetting, forward_transfer
from lifelong_rl.envs.make_env import UnknownEnvError
from lifelong_rl.envs.streams import stream_episode_length, stream_tasks


def test_streams():
    cw10 = stream_tasks("cw10")
    assert len(cw10) == 10 and cw10[0] == "hammer-v3" and cw10[-1] == "peg-unplug-side-v3"
    assert stream_tasks("cw20") == cw10 + cw10
    assert stream_tasks("mt10")[:3] == ["reach-v3", "push-v3", "pick-place-v3"]
    assert stream_tasks("legion10")[4] == "faucet-open-v3"
    assert stream_tasks("reach,push-v3") == ["reach-v3", "push-v3"]
    assert stream_tasks("cw10", 3) == cw10[:3]
    assert stream_episode_length("cw10") == 200 and stream_episode_length("mt10") == 500
    with pytest.raises(UnknownEnvError, match="reachh-v3"):
        stream_tasks("reachh,push")
    with pytest.raises(UnknownEnvError):
        stream_tasks("mt10", 11)


def test_forgetting_and_average_performance_hand_computed():
    # rows: after task k; cols: task i
    S = np.array([[0.9, 0.1, 0.0],
                  [0.5, 0.8, 0.2],
                  [0.3, 0.6, 1.0]])
    assert forgetting(S).tolist() == pytest.approx([0.6, 0.2, 0.0])
    m = continual_metrics(S)
    assert m["average_performance"] == pytest.approx((0.3 + 0.6 + 1.0) / 3)
    assert m["forgetting"] == pytest.approx(0.8 / 3)
    assert m["forward_transfer"] is None and m["forward_transfer_per_task"] is None


def test_auc_and_forward_transfer_hand_computed():
    # Linear rise 0 -> 1 over the window: area 0.5.
    assert auc([0, 50, 100], [0, 0.5, 1.0], 0, 100) == pytest.approx(0.5)
    # Window of the second task [100, 200]: success jumps to 1 at 150 (linear between points).
    assert auc([100, 150, 200], [0.0, 1.0, 1.0], 100, 100) == pytest.approx(0.25 + 0.5)
    # No point at the window start: assumed 0 there; last value held to the end.
    assert auc([50], [1.0], 0, 100) == pytest.approx(0.25 + 0.5)
    assert forward_transfer(0.75, 0.5) == pytest.approx(0.5)
    assert forward_transfer(0.25, 0.5) == pytest.approx(-0.5)
    S = np.array([[1.0, 0.0], [1.0, 1.0]])
    curves = [{"steps": [50, 100, 150, 200], "success": [0.5, 1.0, 1.0, 1.0]},
              {"steps": [50, 100, 150, 200], "success": [0.0, 0.0, 1.0, 1.0]}]
    refs = [{"steps": [50, 100], "success": [0.0, 1.0]}, {"steps": [50, 100], "success": [1.0, 1.0]}]
    m = continual_metrics(S, curves, 100, refs)
    # task 0: AUC_cl = (0.125 + 0.375) = 0.5? points (0,0),(50,.5),(100,1): 0.125+0.375=0.5 -> /100*... = 0.5
    # AUC_ref = (0,0),(50,0),(100,1) = 0.25; FT = (0.5 - 0.25) / 0.75 = 1/3
    # task 1 window [100, 200]: (100,0),(150,1),(200,1) = 0.75; ref (0,0),(50,1),(100,1) = 0.75 -> FT 0
    assert m["forward_transfer_per_task"] == pytest.approx([1 / 3, 0.0])
    assert m["forward_transfer"] == pytest.approx(1 / 6)
    # A missing reference: that task's FT is unavailable and so is the mean.
    m = continual_metrics(S, curves, 100, [refs[0], None])
    assert m["forward_transfer_per_task"][1] is None and m["forward_transfer"] is None
