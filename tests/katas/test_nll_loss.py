"""Kata 10 (nll_loss): every check of grader/checks/nll_loss.py, each in a fresh worker."""

from tests.katas.suite import suite

test_nll_loss = suite("nll_loss")
