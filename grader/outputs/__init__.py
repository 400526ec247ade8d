"""What grading produces: the score table, JSON and the formats other tools read.

Every writer here runs in the grading process, after the workers are gone.
"""
