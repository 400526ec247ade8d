"""Running student code apart from the grader: worker start-up and the OS sandbox around it.

Nothing here imports the checks or the reports; `grader.kata` uses it to start workers.
"""
