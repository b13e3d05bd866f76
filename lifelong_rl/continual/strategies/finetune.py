"""finetune: nothing protects old tasks; the buffer is emptied at every task switch."""
from lifelong_rl.continual.strategies.base import CLStrategy, register


@register
class Finetune(CLStrategy):
    name = "finetune"
    reset_buffer = True
