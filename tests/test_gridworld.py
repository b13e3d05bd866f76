import json

import numpy as np
import pytest

from lifelong_rl.envs.gridworld import GRIDS, SWITCH_EVERY, ContinuousGridworld, make_gridworld


def env_at(grid, x, y, **kw):
    """A one-grid env with the agent placed at (x, y)."""
    env = ContinuousGridworld([grid], **kw)
    env.reset()
    env.set_env_state({"position": [x, y], "grid": 0, "t": 0})
    return env


def test_tile_centre_and_position_round_trip():
    env = make_gridworld("blank")  # 10 rows x 8 cols
    assert np.allclose(env.tile_centre(0, 0), [-1 + 1 / 8, 1 - 1 / 10])
    assert np.allclose(env.tile_centre(9, 7), [1 - 1 / 8, -1 + 1 / 10])
    for row, col in [(0, 0), (4, 4), (9, 7), (3, 6), (7, 1)]:
        assert env.tile_index(*env.tile_centre(row, col)) == (row, col)
    assert env.tile_index(1.0, -1.0) == (9, 7) and env.tile_index(-1.0, 1.0) == (0, 0)  # edges clip


def test_layouts():
    blank, volcano, one_goal = (make_gridworld(n) for n in ("blank", "volcano", "one_goal"))
    assert blank.observation_space.shape == (2,) and volcano.observation_space.shape == (4,)
    assert one_goal.observation_space.shape == (4,) and one_goal.switch_every == 0
    assert volcano.switch_every == SWITCH_EVERY["volcano"] == 200 and len(GRIDS["volcano"]) == 2
    assert all(len(g) == 13 and all(len(r) == 13 for r in g) for g in GRIDS["volcano"])
    obs, info = volcano.reset()
    assert obs.dtype == np.float32 and np.allclose(obs, [0, 0, 0, 10 / 13])
    assert info == {"needs_reset": False, "grid": 0, "x": 0.0, "y": 0.0}
    v1, v2 = GRIDS["volcano"]
    assert v2 == v1[::-1] and v1[2][5] == "H" and v1[1][6] == "G" and v1[6][6] == "S"
    assert all(v1[i][6] in ".SG" for i in range(1, 12)) and v1[4][5] == "L"
    assert one_goal.reset()[0][2:] == pytest.approx([15 / 18, 15 / 18])


def test_move_wall_and_clipping():
    env = make_gridworld("blank")
    obs, _ = env.reset()
    x0, y0 = obs
    obs, reward, terminated, truncated, info = env.step([1.0, 0.0])
    assert obs[0] == pytest.approx(x0 + 0.1, abs=1e-6) and obs[1] == y0
    assert reward == 0.0 and not terminated and not truncated and not info["needs_reset"]
    env.reset()
    assert env.step([5.0, 0.0])[0] == pytest.approx([x0 + 0.1, y0], abs=1e-6)  # clipped to 1
    env.reset()
    assert env.step([-7.0, 3.0])[0] == pytest.approx([x0 - 0.1, y0 + 0.1], abs=1e-6)
    for action in ([1, 0], [0, 1], [-1, 0], [0, -1], [1, 1], [-1, -1]):
        env.reset()
        for _ in range(30):
            _, _, _, _, info = env.step(action)
            assert abs(info["x"]) <= 1 and abs(info["y"]) <= 1 and env.tile(info["x"], info["y"]) != "#"
    env.reset()
    for _ in range(30):
        env.step([1, 0])
    assert 0.75 - 0.0101 < env.get_env_state()["position"][0] < 0.75  # stopped at the wall's edge


def test_sand_slows():
    env = env_at(["#####", "#Ss.#", "#####"], 0.0, 0.0)
    assert env.tile(0.0, 0.0) == "s"
    _, _, _, _, info = env.step([1.0, 0.0])
    assert info["x"] == pytest.approx(0.01) and info["y"] == 0.0


def test_lava_and_goal_reward():
    env = env_at(["#####", "#SL.#", "#####"], 0.0, 0.0)
    assert env.step([0.0, 0.0])[1] == -1.0
    env = env_at(["#####", "#SLG#", "#####"], 0.0, 0.0)
    obs, reward, _, _, _ = env.step([0.0, 0.0])
    assert obs[2:] == pytest.approx([0.4, 0.0])
    assert reward == pytest.approx(-1 - 3 * (0.4 ** 2 + 0.0 ** 2))
    env.reset()  # start (-0.4, 0), a space tile
    obs, reward, _, _, info = env.step([0.0, 1.0])
    assert (info["x"], info["y"]) == pytest.approx((-0.4, 0.1))
    assert reward == pytest.approx(-3 * ((-0.4 - 0.4) ** 2 + 0.1 ** 2))


def test_hole_traps_until_reset():
    env = ContinuousGridworld([["#######", "#S.H.G#", "#######"]], name="trap")
    start, _ = env.reset()
    goal = env.tile_centre(1, 5)
    for _ in range(20):
        _, _, _, _, info = env.step([1.0, 0.0])
        if info["needs_reset"]:
            break
    assert info["needs_reset"] and env.needs_reset and env.tile(info["x"], info["y"]) == "H"
    pos = (info["x"], info["y"])
    rng = np.random.default_rng(0)
    for _ in range(20):
        _, reward, terminated, truncated, info = env.step(rng.uniform(-1, 1, 2))
        assert (info["x"], info["y"]) == pos and info["needs_reset"] and not terminated and not truncated
        assert reward == pytest.approx(-3 - 3 * np.sum((np.array(pos) - goal) ** 2))
    before = env.get_env_state()
    obs, info = env.reset()
    after = env.get_env_state()
    assert np.array_equal(obs, start) and not info["needs_reset"] and not env.needs_reset
    assert (after["grid"], after["t"]) == (before["grid"], before["t"])


def test_swap_frees_a_trapped_agent():
    env = ContinuousGridworld([["#####", "#SH.#", "#####"], ["#####", "#S..#", "#####"]], switch_every=10)
    env.reset()
    infos = [env.step([1.0, 0.0])[4] for _ in range(10)]
    assert infos[8]["needs_reset"] and infos[8]["grid"] == 0
    assert not infos[9]["needs_reset"] and infos[9]["grid"] == 1
    assert env.step([1.0, 0.0])[4]["x"] == pytest.approx(infos[9]["x"] + 0.1)


def test_volcano_swaps_every_200_steps():
    env = make_gridworld("volcano")
    obs, _ = env.reset()
    assert obs[2:] == pytest.approx([0, 10 / 13])
    for _ in range(199):
        assert env.step([0.0, 0.0])[4]["grid"] == 0
    obs, reward, _, _, info = env.step([0.0, 0.5])  # step 200: the swap
    assert info["grid"] == 1 and (info["x"], info["y"]) == pytest.approx((0.0, 0.05))
    assert obs == pytest.approx([0, 0.05, 0, -10 / 13], abs=1e-6)  # goal now at the bottom
    assert reward == pytest.approx(-3 * (10 / 13 - 0.05) ** 2)  # the reward of the grid stepped in
    env.reset()  # does not change the grid or the step count
    assert env.get_env_state() == {"position": [0.0, 0.0], "grid": 1, "t": 200}
    for _ in range(199):
        assert env.step([0.0, 0.0])[4]["grid"] == 1
    obs, _, _, _, info = env.step([0.0, 0.0])
    assert info["grid"] == 0 and obs[2:] == pytest.approx([0, 10 / 13])
    assert make_gridworld("volcano", switch_every=0).switch_every == 0


def test_state_round_trip():
    a = make_gridworld("volcano")
    a.reset()
    rng = np.random.default_rng(1)
    for _ in range(150):
        a.step(rng.uniform(-1, 1, 2))
    state = a.get_env_state()
    assert json.loads(json.dumps(state)) == state  # plain values
    b = make_gridworld("volcano")
    b.reset()
    b.set_env_state(state)
    state["position"][0] = 0.5  # the env holds its own copy
    grids = set()
    for _ in range(100):
        action = rng.uniform(-1.2, 1.2, 2)
        oa, ra, ta, ua, ia = a.step(action)
        ob, rb, tb, ub, ib = b.step(action)
        assert np.array_equal(oa, ob) and ra == rb and (ta, ua) == (tb, ub) and ia == ib
        grids.add(ia["grid"])
    assert grids == {0, 1} and a.get_env_state() == b.get_env_state()


def test_gymnasium_checker():
    from gymnasium.utils.env_checker import check_env

    check_env(make_gridworld("volcano"), skip_render_check=True)


@pytest.mark.parametrize("grids, match", [
    ([["#####", "#S.#", "#####"]], "equal length"),
    ([["#####", "#S?.#", "#####"]], "unknown tile"),
    ([["#####", "#...#", "#####"]], "exactly one S"),
    ([["#####", "#SS.#", "#####"]], "exactly one S"),
    ([["#####", "#SGG#", "#####"]], "at most one G"),
    ([["#####", "#S..#", "#####"], ["####", "#S.#", "####"]], "same shape"),
    (["#####", "#S..#", "#####"], "list of grids"),
    ([], "list of grids"),
])
def test_bad_grids(grids, match):
    with pytest.raises(ValueError, match=match):
        ContinuousGridworld(grids)


def test_unknown_name():
    with pytest.raises(ValueError, match="valid names: blank, one_goal, volcano"):
        make_gridworld("lava_lake")
