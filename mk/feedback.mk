# The feedback a student gets: one row per mistake of tests/mistakes.toml.
# Included by the Makefile, which defines PY and STAMP.

.PHONY: feedback-report

feedback-report: $(STAMP) ## mistake | kata | first line of its message, and the share named
	@$(PY) tools/feedback_report.py $(KATA)
