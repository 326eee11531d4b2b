"""The desk's prerequisites for a request, before any contract: the workstation's charter.

The service card asks, for workstation problems, for a workstation compliant with the charter in
force. The directory records each workstation's compliance (`Equipment.charter`: compliant or
not, checked on a day). A workstation problem (domain `workstation`) on a workstation found not
compliant, never checked, or not in the directory is `to_verify` under the rule
`workstation_charter`: the desk checks the workstation before deciding. The workstation is the
asset the request names, else every workstation the directory gives the requester.
"""

from __future__ import annotations

from helpdesk_intake.domain.coverage import rule
from helpdesk_intake.domain.prequalification import AssistanceRequest, Rule
from helpdesk_intake.domain.requesters import Equipment, Requester
from helpdesk_shared.events.admissibility import RuleEvaluation, RuleOutcome

WORKSTATION_DOMAIN = "workstation"
CHARTER = Rule.WORKSTATION_CHARTER.value


def workstation_charter(request: AssistanceRequest, requester: Requester) -> RuleEvaluation | None:
    """The charter's rule for a workstation problem; None for any other request."""
    if request.domain != WORKSTATION_DOMAIN:
        return None
    workstations = _workstations(request, requester)
    if not workstations:
        detail = "Poste de travail inconnu de l'annuaire : conformité à la charte à vérifier."
        return rule(CHARTER, RuleOutcome.TO_VERIFY, detail)
    for workstation in workstations:
        problem = _not_compliant(workstation)
        if problem is not None:
            return rule(CHARTER, RuleOutcome.TO_VERIFY, problem)
    checked = ", ".join(
        f"{w.asset_tag} (vérifié le {w.charter.checked_on:%d/%m/%Y})"
        for w in workstations
        if w.charter is not None
    )
    return rule(CHARTER, RuleOutcome.PASSED, f"Poste conforme à la charte : {checked}.")


def _workstations(request: AssistanceRequest, requester: Requester) -> tuple[Equipment, ...]:
    if request.asset_tag:
        asset = requester.asset(request.asset_tag)
        return (asset,) if asset is not None and asset.is_workstation else ()
    return tuple(e for e in requester.equipment if e.is_workstation)


def _not_compliant(workstation: Equipment) -> str | None:
    tag, charter = workstation.asset_tag, workstation.charter
    if charter is None:
        return f"Conformité du poste {tag} à la charte jamais vérifiée : à vérifier."
    if not charter.compliant:
        when = f"{charter.checked_on:%d/%m/%Y}"
        return f"Poste {tag} non conforme à la charte (constaté le {when}) : à vérifier."
    return None
