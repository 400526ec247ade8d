"""Kata 4 (lin): every check of grader/checks/lin.py, each in a fresh worker."""

from tests.katas.suite import suite

test_lin = suite("lin")
