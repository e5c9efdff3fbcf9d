"""Distribution for lam-rl: Ray actors, Serve deployments, Ray Train wiring and the CLI.

All Ray code lives here; ``lam_rl`` (the library) never imports Ray.
"""
