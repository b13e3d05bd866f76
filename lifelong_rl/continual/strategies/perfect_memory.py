"""perfect_memory: the buffer keeps every task's data, never reset (LEGION's setting too)."""
from lifelong_rl.continual.strategies.base import CLStrategy, register


@register
class PerfectMemory(CLStrategy):
    name = "perfect_memory"
    reset_buffer = False
