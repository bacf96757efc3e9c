"""Lotse's core: pydantic types and pure functions. Imports nobody else in Lotse; does no I/O
and never reads the clock (the day or instant is always passed in)."""
