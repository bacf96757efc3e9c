"""Benchmarks; each prints its figures and a final JSON line. Run as `python -m bench.<name>`."""
