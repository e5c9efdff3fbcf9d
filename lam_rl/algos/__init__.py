"""Learning algorithms (framework-agnostic torch): the DeepSpeed engine, SFT, reward model, PPO."""
