"""Kata 7 (model): every check of grader/checks/model.py, each in a fresh worker."""

from tests.katas.suite import suite

test_model = suite("model")
