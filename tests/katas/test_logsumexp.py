"""Kata 8 (logsumexp): every check of grader/checks/logsumexp.py, each in a fresh worker."""

from tests.katas.suite import suite

test_logsumexp = suite("logsumexp")
