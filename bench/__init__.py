"""Benchmarks: each module runs with `python -m bench.NAME` and prints figures side by side
with a baseline measured in the same run; `bench/run.py` runs them all (`make bench`).
"""
