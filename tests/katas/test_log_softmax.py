"""Kata 9 (log_softmax): every check of grader/checks/log_softmax.py, each in a fresh worker."""

from tests.katas.suite import suite

test_log_softmax = suite("log_softmax")
