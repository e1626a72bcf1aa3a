"""The OKR domain: cycles, objectives, key results, check-ins and their progress rules. Pure Python, no I/O."""
