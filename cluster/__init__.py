"""Distribution for lam-rl: Ray actors, Serve deployments, Ray Train wiring and the CLI.

All Ray code lives here; ``lam_rl`` (the library) never imports Ray.
"""

import warnings

# Ray starts its processes with fork+exec, which Lance tolerates; its at-fork warning is noise here.
warnings.filterwarnings("ignore", message="lance is not fork-safe")
