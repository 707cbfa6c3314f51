"""Reliability scenarios: hostile input, isolation, overload, cache races, soak, shutdown.

Each scenario is an async function returning a :class:`~tests.reliability.harness.Outcome`;
the pytest tests and ``scripts/reliability`` (``python -m tests.reliability``) run the same code.
"""
