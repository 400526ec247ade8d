# The student's tools: watch mode, hints, progress, notebooks, pictures; and the manifest.
# Included by the Makefile, which defines PY, STAMP, VENV, DIR and KATA.

.PHONY: watch hint progress lab train manifest student-notebooks

LAB_ARGS ?=
ARGS ?=

watch: $(STAMP) ## re-grade each kata when you save it, with progress and hints (DIR=folder)
	@$(PY) -m grader watch --dir $(DIR)

hint: $(STAMP) ## the next hint for KATA (default: your first unfinished kata; RESET=1 starts over)
	@$(PY) -m grader hint $(KATA) --dir $(DIR) $(if $(RESET),--reset)

progress: $(STAMP) ## done and remaining katas in lesson order, the next one and its hint
	@$(PY) -m grader watch --once --dir $(DIR)

# tools/lab.py: JupyterLab on $(DIR) alone, a .py kata opening as a notebook; its settings go
# into .venv only, never your home directory.
lab: $(STAMP) ## open the katas as notebooks in JupyterLab (the .py file is the notebook)
	$(PY) tools/lab.py --dir $(DIR) $(LAB_ARGS)

train: $(STAMP) ## train the lesson's MLP with your fit; save plots to out/ (DIR=solutions: the reference)
	@$(PY) -m grader train --dir $(DIR) $(ARGS)

manifest: $(STAMP) ## write MANIFEST.sha256 (digests of grader/, tests/, .github/workflows/); commit it
	@$(PY) -m grader.manifest write

student-notebooks: $(STAMP) ## regenerate notebooks/*.ipynb (Colab, Kaggle) and the README's links from solutions/ (never overwrites a notebook you edited)
	$(PY) tools/make_student_notebooks.py
