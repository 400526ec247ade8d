# Gradescope's autograder bundle (docs/instructors.md, "Gradescope"). Included by the Makefile.

.PHONY: gradescope

GRADESCOPE_ZIP ?= dist/autograder.zip

gradescope: $(STAMP) ## build dist/autograder.zip for Gradescope (setup.sh, run_autograder, the package)
	$(PY) -m grader.gradescope.bundle --out $(GRADESCOPE_ZIP)
