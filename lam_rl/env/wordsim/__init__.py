"""WordSim: a simulated Microsoft Word (document model, ribbon UI, dialogs, renderer) that serves
the lam-rl VM protocol. ``WordSim`` is the VM agent."""

from lam_rl.env.wordsim.app import WordSim

__all__ = ["WordSim"]
