"""Deployment beyond one machine: container image, compose file, Kubernetes manifests."""
