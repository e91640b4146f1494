"""Benchmarks that measure edgeopt's solvers against published results and direct solver calls."""
