"""Deployment on Kubernetes: render KubeRay manifests from job configs and validate all infra.

``phases`` is the registry of phases, ``render`` builds RayJobs and the long-lived RayCluster (the
caller passes the stock configs folder), ``crd`` checks custom resources against the KubeRay CRD
schemas and their CEL rules, ``kuberay`` holds the operator's own rules, ``hcl`` reads Terraform
files (python-hcl2) for the ``tfcheck`` and ``tfschema`` checks, and ``checks`` runs the whole infra
check that ``lam-rl infra validate`` and tests/infra use.
"""
