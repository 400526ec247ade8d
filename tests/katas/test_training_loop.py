"""Kata 11 (training_loop): every check of grader/checks/training_loop.py, each in a fresh worker."""

from tests.katas.suite import suite

test_training_loop = suite("training_loop")
