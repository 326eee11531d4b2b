"""The ITIL problem aggregate: its state, commands, rules (`decide_problem`) and facts
(`evolve_problem`), and its `DECIDER` for the kernel."""

from helpdesk_ticket.domain.problem.aggregate import (
    DECIDER,
    CreateProblem,
    LinkIncident,
    Problem,
    ProblemCommand,
    ProblemStatus,
    RecordWorkaround,
    ResolveProblem,
    UnlinkIncident,
    allowed_problem_commands,
    decide_problem,
    evolve_problem,
)

__all__ = [
    "DECIDER",
    "CreateProblem",
    "LinkIncident",
    "Problem",
    "ProblemCommand",
    "ProblemStatus",
    "RecordWorkaround",
    "ResolveProblem",
    "UnlinkIncident",
    "allowed_problem_commands",
    "decide_problem",
    "evolve_problem",
]
