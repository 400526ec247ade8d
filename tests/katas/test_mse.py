"""Kata 5 (mse): every check of grader/checks/mse.py, each in a fresh worker."""

from tests.katas.suite import suite

test_mse = suite("mse")
