"""reservoir: a fixed-size buffer holding a uniform sample of all data seen (reservoir sampling)."""
from typing import Mapping

from lifelong_rl.continual.strategies.base import CLStrategy, register
from lifelong_rl.data_management.fields import Field
from lifelong_rl.data_management.replay_buffer import ReplayBuffer, ReservoirReplayBuffer


@register
class Reservoir(CLStrategy):
    name = "reservoir"
    reset_buffer = False

    def make_buffer(self, max_size: int, fields: Mapping[str, Field], seed: int) -> ReplayBuffer:
        return ReservoirReplayBuffer(max_size, fields, seed=seed)
