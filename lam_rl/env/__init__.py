"""The world lam-rl acts in: the VM protocol (client + server), WordSim, tasks, verifiers, expert."""
