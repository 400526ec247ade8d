# The instructors' workflow (docs/instructors.md): the nbgrader course in course/,
# and batch grading without nbgrader. Included by the Makefile (PY, STAMP, VENV).
# Every nbgrader command runs inside $(COURSE), where nbgrader_config.py lives;
# nbgrader runs `alembic` from PATH, so the virtualenv's bin/ goes first.

.PHONY: notebooks release sample-submissions autograde feedback gradebook batch clean-course

COURSE     ?= course
ASSIGNMENT := lesson13
# Extra nbgrader flags for autograde / feedback, e.g. NBGRADER_FLAGS=--force to regrade, or
# NBGRADER_FLAGS=--KataExecute.run_notebook=True to show students' own outputs in the feedback.
NBGRADER_FLAGS ?=
SUBMISSIONS ?= $(COURSE)/submitted
# The course's own submissions grade into course/batch-grades; any other SUBMISSIONS folder into
# the grader's default, SUBMISSIONS-grades next to it (or BATCH_OUT=folder).
BATCH_OUT   ?= $(if $(filter $(COURSE)/submitted,$(SUBMISSIONS:/=)),$(COURSE)/batch-grades)
JOBS        ?=
# Extra `grader batch` flags, e.g. BATCH_FLAGS="--shard 1/2 --due 2026-12-01T23:59 --allow-weak-sandbox".
BATCH_FLAGS ?=
# The late policy, the same for `make batch` and `make autograde` (nbgrader's late penalty, per
# notebook: grader/course/late.py), in grader batch's flags, e.g.
# LATE_FLAGS="--due 2026-12-01T23:59+01:00 --late-penalty 10%/day --late-cap 50%".
LATE_FLAGS  ?=
# The late flags reach nbgrader's late-penalty plugin (grader/course/late.py) through the environment.
# Without LATE_FLAGS, the policy a `make batch` stored in BATCH_OUT applies (grader/course/late.py).
NBGRADER    = cd $(COURSE) && KATA_LATE_FLAGS='$(LATE_FLAGS)' KATA_LATE_BASE='$(CURDIR)' \
              KATA_LATE_POLICY_FROM='$(if $(BATCH_OUT),$(abspath $(BATCH_OUT)))' \
              PATH="$(abspath $(VENV))/bin:$$PATH" "$(abspath $(VENV))/bin/nbgrader"

notebooks: $(STAMP) ## regenerate course/source/ from solutions/ and rubric.toml (never edit it by hand)
	$(PY) tools/make_notebooks.py

release: $(STAMP) ## nbgrader generate_assignment, then validate --invert: every test must fail unsolved
	$(NBGRADER) generate_assignment $(ASSIGNMENT) --force
	@out=$$($(NBGRADER) validate --invert release/$(ASSIGNMENT)/*.ipynb 2>&1); \
	  total=$$(ls $(COURSE)/release/$(ASSIGNMENT)/*.ipynb | wc -l); \
	  ok=$$(printf '%s\n' "$$out" | grep -c 'does not pass any tests'); \
	  if [ "$$ok" -ne "$$total" ]; then \
	    printf '%s\n' "$$out"; \
	    echo "release: a test cell passes in an unsolved release notebook (nbgrader validate --invert, above)"; \
	    exit 1; \
	  fi; \
	  echo "validate --invert: every test cell fails in the $$total unsolved release notebooks, as it must"

sample-submissions: $(STAMP) ## fifteen sample students in course/submitted/: hostile, broken, .py, missing, late (needs make release)
	$(PY) tools/make_notebooks.py --samples --course $(COURSE)

autograde: $(STAMP) ## nbgrader autograde lesson13, scores from the isolated grader (KATA_ALLOW_WEAK_SANDBOX=1 without the full sandbox)
	@test -f $(COURSE)/gradebook.db || { echo "no $(COURSE)/gradebook.db yet: run make release first"; exit 1; }
	@ls -d $(COURSE)/submitted/*/$(ASSIGNMENT) >/dev/null 2>&1 || { \
	  echo "no submissions in $(COURSE)/submitted/<student>/$(ASSIGNMENT)/: collect them (docs/instructors.md) or run make sample-submissions"; exit 1; }
	$(NBGRADER) autograde $(ASSIGNMENT) $(NBGRADER_FLAGS)

feedback: $(STAMP) ## nbgrader generate_feedback: one HTML report per student in course/feedback/
	$(NBGRADER) generate_feedback $(ASSIGNMENT) $(NBGRADER_FLAGS)

gradebook: $(STAMP) ## nbgrader export: course/grades.csv, one row per student
	$(NBGRADER) export --to grades.csv
	@echo "wrote $(COURSE)/grades.csv"

batch: $(STAMP) ## grade SUBMISSIONS=folder (one sub-folder per student) without nbgrader, JOBS=N in parallel
	$(PY) -m grader batch $(SUBMISSIONS) $(if $(BATCH_OUT),--out $(BATCH_OUT)) $(if $(JOBS),--jobs $(JOBS)) $(LATE_FLAGS) $(BATCH_FLAGS)

clean-course: ## start the course over: remove gradebook.db, students' work, grades (keeps source/)
	cd $(COURSE) && rm -rf gradebook.db gradebook.db-journal release source_with_tests downloaded \
	  submitted autograded feedback solution batch-grades grades.csv canvas-import.csv moodle-import.csv
	@echo "$(COURSE)/ is back to its committed state: run make release to start again"

