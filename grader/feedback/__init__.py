"""Feedback that finds the mistake: wrong variants per check, torch's errors explained.

- `variants`: the table of the lesson's known wrong answers for each check,
  computed on the fly from the check's own inputs, so a wrong value can be named.
- `explain`: torch's exception texts turned into a sentence in the lesson's terms.

Nothing here runs student code or imports the checks; the checks import this.
"""
