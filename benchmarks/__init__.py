"""Benchmark suite for hf_aidetect: data path, training, predict, end to end and memory.

Run ``python -m benchmarks.run`` from the repository root; see ``benchmarks/README.md`` for the results.
"""
