"""Ratio benchmarks (``make bench``): each compares us with a baseline measured in the same run."""
