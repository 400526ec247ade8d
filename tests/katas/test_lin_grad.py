"""Kata 2 (lin_grad): every check of grader/checks/lin_grad.py, each in a fresh worker."""

from tests.katas.suite import suite

test_lin_grad = suite("lin_grad")
