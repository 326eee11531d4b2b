"""The ticket service's read side: the queries behind its GET routes, which change nothing.

`tickets.py` reads the list projection (the list, the follow-up, the tickets due for an SLA
check); `problems.py` finds the problem streams in the event store. The entrypoints may import
this package and no other adapter (an import-linter contract checks it).
"""
