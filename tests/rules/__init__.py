"""Tests of rules/: the catalogs, routing by the federal table, the durable-rules engine against the
plain-Python reference, its evaluator processes, partner resolution and the rules CLI."""
