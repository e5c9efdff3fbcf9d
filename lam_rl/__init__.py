"""lam-rl: train Large Action Models on Windows apps (here: WordSim) with the paper's four phases.

The library: no Ray import anywhere below this package (``cluster/`` adds distribution).
"""

__version__ = "0.1.0"
