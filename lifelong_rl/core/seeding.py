"""One `--seed` spawns an independent child seed for every consumer: each env (exploration and
evaluation, each task), each buffer's sampler, the networks (torch), the DPMM. Children are named,
so adding a consumer never shifts another's stream (numpy SeedSequence with a spawn key per name)."""
from __future__ import annotations

import random
import zlib

import numpy as np
import torch


class RunSeeds:
    def __init__(self, seed: int):
        self.seed = int(seed)

    def child(self, name: str) -> int:
        """A 31-bit seed for `name`, independent of every other name's (and of the run seed itself)."""
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(zlib.crc32(name.encode()),))
        return int(ss.generate_state(1, dtype=np.uint32)[0] >> 1)

    def seed_globals(self) -> None:
        """python's and numpy's global generators, and torch's (network initialisation, policy noise)."""
        random.seed(self.child("python"))
        np.random.seed(self.child("numpy"))
        torch.manual_seed(self.child("torch"))
