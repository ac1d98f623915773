"""Tests of the simulated mesh node (pure Python: the node is driven directly)."""
