"""The benchmark harness behind ``scripts/bench``: one command, one machine, every figure."""
