"""The nbgrader course's side of the grader: autograde through the isolated grader."""
