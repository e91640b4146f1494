"""Maintenance over time (docs/model.md §9): rounds files, carried state, policies, hindsight
references and the simulation loop."""

from edgeopt.rounds.scenario import ROUNDS_FORMAT, Rounds, load_rounds, save_rounds

__all__ = ["ROUNDS_FORMAT", "Rounds", "load_rounds", "save_rounds"]
