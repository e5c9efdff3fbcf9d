"""Deployment on Kubernetes: render KubeRay manifests from job configs and validate all infra.

``phases`` is the registry of phases, ``render`` builds RayJobs and the long-lived RayCluster,
``crd`` checks custom resources against the KubeRay CRD schemas and their CEL rules, ``checks``
runs the whole infra check that ``lam-rl infra validate`` and tests/infra use.
"""
