"""Planners that optimise an action sequence against a batched return function: random shooting,
CEM and MPPI behind one interface (lifelong_rl.planners.planners)."""
from lifelong_rl.planners.planners import CEM, MPPI, PLANNERS, Planner, RandomShooting

__all__ = ["CEM", "MPPI", "PLANNERS", "Planner", "RandomShooting"]
