"""A continuous 2-D gridworld with tiles, for reset-free lifelong RL.

After the 2-D volcano world of Lu et al. 2021 ("Reset-Free Lifelong Learning with Skill-Space
Planning"): the agent is a point x in [-1, 1]^2 over a grid of square tiles (row 0 at the top),
and the world's pitfalls and goal can rearrange every `switch_every` steps of the env's life.

Tiles: `.` space (speed 1), `#` wall (cannot be entered), `s` sand (speed 0.1), `L` lava
(reward -1 per step on it), `H` hole (reward -3 per step, speed 0: the agent is trapped),
`G` goal (at most one per grid), `S` start (a space tile; the agent starts at its centre).

A step moves the agent by 0.1 * action * speed in 10 equal sub-steps (the action clipped to
[-1, 1]); each sub-step reads the speed of the tile under the agent and is not taken if it would
enter a wall or leave [-1, 1]^2. The reward is the reward of the tile where the step ends, plus
-3 ||x - g||^2 if the grid has a goal at g (the goal tile's centre), clipped to [-100, 100]; it
is computed on the grid the step was taken in. The observation is the position, followed by the
current grid's goal (zeros if it has none) when any of the env's grids has a goal.

The env never terminates or truncates. Every `switch_every` steps (counted over the env's whole
life, across resets) the next grid of the cycle replaces the current one without moving the agent,
so the observation and info of that step already describe the new grid. An agent on a hole is
trapped and `needs_reset` (in info and as a property) is True until a swap frees it or `reset()`
puts it back at the start; `reset()` only moves the agent, the world (grid, step count) goes on.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np

SPEED = {".": 1.0, "S": 1.0, "G": 1.0, "L": 1.0, "s": 0.1, "H": 0.0, "#": 0.0}
TILE_REWARD = {"L": -1.0, "H": -3.0}
STEP_SIZE, SUBSTEPS, GOAL_WEIGHT, REWARD_CLIP = 0.1, 10, 3.0, 100.0


class ContinuousGridworld(gym.Env):
    """A point agent in [-1, 1]^2 over a cycle of tile grids (see the module docstring)."""

    metadata = {"render_modes": []}

    def __init__(self, grids: Sequence[Sequence[str]], switch_every: int = 0, name: str = ""):
        if not grids or any(isinstance(g, str) for g in grids):
            raise ValueError("grids must be a non-empty list of grids, each a list of row strings")
        self.grids = [tuple(_check_grid(g, k)) for k, g in enumerate(grids)]
        shapes = {(len(g), len(g[0])) for g in self.grids}
        if len(shapes) > 1:
            raise ValueError(f"all grids of one env must have the same shape, got {sorted(shapes)}")
        if int(switch_every) < 0:
            raise ValueError(f"switch_every must be >= 0, got {switch_every}")
        self.n_rows, self.n_cols = shapes.pop()
        self.switch_every, self.name = int(switch_every), name
        self._goals = [self._find(g, "G") for g in self.grids]
        self._starts = [self._find(g, "S") for g in self.grids]
        self.has_goal = any(goal is not None for goal in self._goals)
        obs_dim = 4 if self.has_goal else 2
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._grid, self._t = 0, 0
        self._pos = self._starts[0].copy()

    # --- geometry -------------------------------------------------------------------------
    def tile_centre(self, row: int, col: int) -> np.ndarray:
        """The (x, y) centre of tile (row, col)."""
        return np.array([(2 * col + 1) / self.n_cols - 1.0, 1.0 - (2 * row + 1) / self.n_rows])

    def tile_index(self, x: float, y: float) -> Tuple[int, int]:
        """The (row, col) of the tile under position (x, y)."""
        col = min(max(int(np.floor((x + 1.0) / 2.0 * self.n_cols)), 0), self.n_cols - 1)
        row = min(max(int(np.floor((1.0 - y) / 2.0 * self.n_rows)), 0), self.n_rows - 1)
        return row, col

    def tile(self, x: float, y: float, grid: Optional[int] = None) -> str:
        """The character of the tile under (x, y) in grid `grid` (default: the current one)."""
        row, col = self.tile_index(x, y)
        return self.grids[self._grid if grid is None else grid][row][col]

    def _find(self, grid: Sequence[str], char: str) -> Optional[np.ndarray]:
        for i, row in enumerate(grid):
            if char in row:
                return self.tile_centre(i, row.index(char))
        return None

    # --- gym API --------------------------------------------------------------------------
    @property
    def needs_reset(self) -> bool:
        """Whether the agent is on a hole tile (trapped)."""
        return self.tile(*self._pos) == "H"

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None) -> Tuple[np.ndarray, dict]:
        """Put the agent at the current grid's start; the grid and lifetime step count are kept."""
        super().reset(seed=seed)
        self._pos = self._starts[self._grid].copy()
        return self._obs(), self._info()

    def step(self, action: Any) -> Tuple[np.ndarray, float, bool, bool, dict]:
        a = np.asarray(action, dtype=np.float64).reshape(2)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"action must be finite, got {a}")
        a = np.clip(a, -1.0, 1.0)
        grid = self.grids[self._grid]
        for _ in range(SUBSTEPS):
            row, col = self.tile_index(*self._pos)
            new = self._pos + STEP_SIZE / SUBSTEPS * SPEED[grid[row][col]] * a
            if np.all(np.abs(new) <= 1.0) and self.tile(*new) != "#":
                self._pos = new
        reward = TILE_REWARD.get(self.tile(*self._pos), 0.0)
        goal = self._goals[self._grid]
        if goal is not None:
            reward -= GOAL_WEIGHT * float(np.sum((self._pos - goal) ** 2))
        reward = float(np.clip(reward, -REWARD_CLIP, REWARD_CLIP))
        self._t += 1
        if self.switch_every > 0 and self._t % self.switch_every == 0:
            self._grid = (self._grid + 1) % len(self.grids)
        return self._obs(), reward, False, False, self._info()

    def _obs(self) -> np.ndarray:
        if not self.has_goal:
            return self._pos.astype(np.float32)
        goal = self._goals[self._grid]
        return np.concatenate([self._pos, np.zeros(2) if goal is None else goal]).astype(np.float32)

    def _info(self) -> Dict[str, Any]:
        return {"needs_reset": self.needs_reset, "grid": self._grid,
                "x": float(self._pos[0]), "y": float(self._pos[1])}

    def sync_task(self, other: "ContinuousGridworld") -> None:
        """Take `other`'s current grid and keep it (an evaluation env follows the exploration env)."""
        self._grid, self.switch_every = other._grid, 0

    # --- snapshots ------------------------------------------------------------------------
    def get_env_state(self) -> Dict[str, Any]:
        """The world's whole state: position, grid index and lifetime step count."""
        return {"position": [float(v) for v in self._pos], "grid": self._grid, "t": self._t}

    def set_env_state(self, state: Dict[str, Any]) -> None:
        """Restore a state from `get_env_state` exactly."""
        grid = int(state["grid"])
        if not 0 <= grid < len(self.grids):
            raise ValueError(f"grid index {grid} out of range for {len(self.grids)} grids")
        self._pos = np.array(state["position"], dtype=np.float64).reshape(2)
        self._grid, self._t = grid, int(state["t"])


def _check_grid(grid: Sequence[str], k: int) -> List[str]:
    rows = [str(r) for r in grid]
    if not rows or not rows[0] or len({len(r) for r in rows}) > 1:
        raise ValueError(f"grid {k}: rows must be non-empty and of equal length, got lengths {[len(r) for r in rows]}")
    unknown = sorted(set("".join(rows)) - set(SPEED))
    if unknown:
        raise ValueError(f"grid {k}: unknown tile characters {unknown}; valid: {''.join(SPEED)}")
    text = "".join(rows)
    if text.count("S") != 1 or text.count("G") > 1:
        raise ValueError(f"grid {k}: needs exactly one S and at most one G, has {text.count('S')} S, {text.count('G')} G")
    return rows


def _room(n_rows: int, n_cols: int, marks: Dict[Tuple[int, int], str]) -> List[str]:
    """A room of spaces with a wall border and the given tiles placed at (row, col)."""
    cells = [["#" if i in (0, n_rows - 1) or j in (0, n_cols - 1) else "." for j in range(n_cols)]
             for i in range(n_rows)]
    for (i, j), char in marks.items():
        cells[i][j] = char
    return ["".join(r) for r in cells]


VOLCANO_1 = [
    "#############",
    "#LLLL.G.LLLL#",
    "#LLLLH..LLLL#",
    "#LLLL...LLLL#",
    "#LLLLL.LLLLL#",
    "#LLLLL.LLLLL#",
    "#LLLLLSLLLLL#",
    "#LLLLL.LLLLL#",
    "#LLLLL.LLLLL#",
    "#LLLLL.LLLLL#",
    "#LLLLL.LLLLL#",
    "#LLLLL.LLLLL#",
    "#############",
]

GRIDS: Dict[str, List[List[str]]] = {
    "blank": [_room(10, 8, {(4, 4): "S"})],
    "volcano": [VOLCANO_1, VOLCANO_1[::-1]],
    "one_goal": [_room(18, 18, {(9, 9): "S", (1, 16): "G"})],
}
SWITCH_EVERY: Dict[str, int] = {"blank": 0, "volcano": 200, "one_goal": 0}


def make_gridworld(name: str, switch_every: Optional[int] = None) -> ContinuousGridworld:
    """The named world of `GRIDS`, switching grids every `switch_every` steps (default: its own)."""
    if name not in GRIDS:
        raise ValueError(f"unknown gridworld {name!r}; valid names: {', '.join(sorted(GRIDS))}")
    period = SWITCH_EVERY[name] if switch_every is None else switch_every
    return ContinuousGridworld(GRIDS[name], switch_every=period, name=name)
