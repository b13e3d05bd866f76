"""LEGION benchmark (issue 5): the 3-task stream of benchmarks/continual_short.py, the same steps,
3 seeds: LEGION (continual mode) against finetune and perfect_memory SAC. Prints average
performance, forgetting (and forward transfer with --references), mean +- std over seeds, LEGION's
number of active DPMM components after each task, and the component-task purity of the latents of
its last prior fit. Every option of continual_short.py applies.

    python benchmarks/legion_short.py                                    # full size: many CPU hours
    python benchmarks/legion_short.py --steps-per-task 3000 --eval-every 1500 --legion-fit-every 1500 --seeds 1  # smoke

All methods use the same actor/critic sizes (--hidden), so LEGION differs from perfect_memory SAC
by its latent task code only (the baselines keep CW's multi-head task identity).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import continual_short  # noqa: E402

if __name__ == "__main__":
    sys.exit(continual_short.main(methods="legion,finetune,perfect_memory", references=False))
