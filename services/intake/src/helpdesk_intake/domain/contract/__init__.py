"""The contract aggregate: a pure decider over the `contract-<id>` stream.

`decide(command, state) -> events`, `evolve(state, event) -> state`, and `version_as_of(state,
day)`: the terms of any day are rebuilt from the stream, so a decision taken against version n
can be audited after version n + 1.
"""

from helpdesk_intake.domain.contract.commands import (
    Amend,
    AnswerExtension,
    ContractCommand,
    ProposeExtension,
    Renew,
    Sign,
    Terminate,
)
from helpdesk_intake.domain.contract.decide import decide
from helpdesk_intake.domain.contract.errors import (
    ContractAlreadySigned,
    ContractChangeRefused,
    ContractError,
    ContractNotFound,
    InvalidContractCommand,
)
from helpdesk_intake.domain.contract.evolve import evolve, replay
from helpdesk_intake.domain.contract.state import (
    ContractState,
    ContractVersion,
    in_force_on,
    version_as_of,
)
from helpdesk_shared.events.contract import ContractEvent
from helpdesk_shared.kernel.decider import Decider

#: The contract as the kernel runs it: stream `contract-<id>`.
DECIDER: Decider[ContractCommand, ContractState, ContractEvent] = Decider(
    category="contract", decide=decide, evolve=evolve, event_type=ContractEvent
)

__all__ = [
    "DECIDER",
    "Amend",
    "AnswerExtension",
    "ContractAlreadySigned",
    "ContractChangeRefused",
    "ContractCommand",
    "ContractError",
    "ContractNotFound",
    "ContractState",
    "ContractVersion",
    "InvalidContractCommand",
    "ProposeExtension",
    "Renew",
    "Sign",
    "Terminate",
    "decide",
    "evolve",
    "in_force_on",
    "replay",
    "version_as_of",
]
