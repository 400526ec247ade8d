"""Kata 1 (matmul): every check of grader/checks/matmul.py, each in a fresh worker."""

from tests.katas.suite import suite

test_matmul = suite("matmul")
