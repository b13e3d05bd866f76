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
    # The mean of the evaluations in (start, start + length]: the point at the start is left out.
    assert auc([0, 50, 100], [1.0, 0.5, 1.0], 0, 100) == pytest.approx(0.75)
    # Window of the second task (100, 200]: evaluations at 150 and 200 only; 300 is past the window.
    assert auc([50, 100, 150, 200, 300], [1.0, 1.0, 0.0, 1.0, 0.0], 100, 100) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no evaluation"):
        auc([100, 250], [1.0, 1.0], 100, 100)
    assert forward_transfer(0.75, 0.5) == pytest.approx(0.5)
    assert forward_transfer(0.25, 0.5) == pytest.approx(-0.5)
    S = np.array([[1.0, 0.0], [1.0, 1.0]])
    curves = [{"steps": [50, 100, 150, 200], "success": [0.5, 1.0, 1.0, 1.0]},
              {"steps": [50, 100, 150, 200], "success": [0.0, 0.0, 1.0, 1.0]}]
    refs = [{"steps": [50, 100], "success": [0.0, 1.0]}, {"steps": [50, 100], "success": [0.5, 1.0]}]
    m = continual_metrics(S, curves, 100, refs)
    # task 0: AUC_cl = mean(0.5, 1.0) = 0.75, AUC_ref = mean(0.0, 1.0) = 0.5: FT = 0.25 / 0.5 = 0.5
    # task 1: AUC_cl = mean over (100, 200] = mean(1.0, 1.0) = 1.0 (the 0.0 at 100 is task 0's end),
    #         AUC_ref = mean(0.5, 1.0) = 0.75: FT = 0.25 / 0.25 = 1.0
    assert m["forward_transfer_per_task"] == pytest.approx([0.5, 1.0])
    assert m["forward_transfer"] == pytest.approx(0.75)
    # A missing reference: that task's FT is unavailable and so is the mean.
    m = continual_metrics(S, curves, 100, [refs[0], None])
    assert m["forward_transfer_per_task"][1] is None and m["forward_transfer"] is None
