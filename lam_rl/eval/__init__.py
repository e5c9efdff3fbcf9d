"""Evaluation: offline metrics on reference trajectories, online metrics from rollouts, reports."""
