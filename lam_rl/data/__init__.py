"""Datasets and example builders: task-plan corpus, SFT / reward / PPO examples."""
