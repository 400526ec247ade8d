"""Kata 6 (module): every check of grader/checks/module.py, each in a fresh worker."""

from tests.katas.suite import suite

test_module = suite("module")
