"""MetaWorld task streams for continual learning (all v3 tasks).

cw10 / cw20: Continual World (Wolczyk et al., NeurIPS 2021), CW20 is CW10 twice. mt10: MetaWorld's
MT10 order. legion10: the order of LEGION (Meng et al., 2025). Or any comma-separated task list.
"""
from __future__ import annotations

import difflib
from typing import List, Optional

from lifelong_rl.envs.make_env import UnknownEnvError
from lifelong_rl.envs.metaworld_env import metaworld_task_names

CW10 = ["hammer", "push-wall", "faucet-close", "push-back", "stick-pull", "handle-press-side", "push",
        "shelf-place", "window-close", "peg-unplug-side"]
MT10 = ["reach", "push", "pick-place", "door-open", "drawer-open", "drawer-close", "button-press-topdown",
        "peg-insert-side", "window-open", "window-close"]
LEGION10 = ["reach", "push", "pick-place", "door-open", "faucet-open", "drawer-close", "button-press-topdown",
            "peg-unplug-side", "window-open", "window-close"]

STREAMS = {"cw10": CW10, "cw20": CW10 + CW10, "mt10": MT10, "legion10": LEGION10}
# Episode length per stream: 200 steps for the Continual World streams (as CW), else MetaWorld's 500.
EPISODE_LENGTH = {"cw10": 200, "cw20": 200}
DEFAULT_EPISODE_LENGTH = 500


def stream_tasks(stream: str, num_tasks: Optional[int] = None) -> List[str]:
    """Task names ('<task>-v3') of a stream, cut to its first `num_tasks`."""
    if stream in STREAMS:
        tasks = [f"{t}-v3" for t in STREAMS[stream]]
    else:
        tasks = [t.strip() for t in stream.split(",") if t.strip()]
        tasks = [t if t.endswith("-v3") else f"{t}-v3" for t in tasks]
        valid = metaworld_task_names()
        bad = [t for t in tasks if t not in valid]
        if bad or not tasks:
            close = [c for b in bad for c in difflib.get_close_matches(b, valid, n=1)]
            if "," not in stream:
                close = difflib.get_close_matches(stream, list(STREAMS), n=1) + close
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UnknownEnvError(f"unknown stream or MetaWorld task(s) {', '.join(bad) or repr(stream)}{hint}; "
                                  f"streams: {', '.join(STREAMS)}, or a comma-separated list of v3 tasks")
    if num_tasks is not None and num_tasks > 0:
        if num_tasks > len(tasks):
            raise UnknownEnvError(f"stream '{stream}' has {len(tasks)} tasks, --num-tasks {num_tasks} asked")
        tasks = tasks[:num_tasks]
    return tasks


def stream_episode_length(stream: str) -> int:
    return EPISODE_LENGTH.get(stream, DEFAULT_EPISODE_LENGTH)
