"""Kata 3 (relu): every check of grader/checks/relu.py, each in a fresh worker."""

from tests.katas.suite import suite

test_relu = suite("relu")
