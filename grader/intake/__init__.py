"""Turning what a student handed in (a folder, notebooks, archives) into kata files to grade.

Nothing here runs student code; it only reads and copies files.
"""
