"""Benchmarks (`make bench`): each figure is printed beside the floor or peer it is compared with."""
