"""Knowledge articles: decide/evolve without I/O (versions, publication, usage counts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from helpdesk_shared.events.article import (
    ArticleContent,
    ArticleEvent,
    ArticlePublished,
    ArticleRevised,
    ArticleUsedInResolution,
    Audience,
)
from helpdesk_ticket.domain import article as a
from helpdesk_ticket.domain.article.prefill import content_from_group, content_from_ticket, steps_of
from helpdesk_ticket.domain.errors import ArticleNotFound, InvalidCommand, TransitionNotAllowed
from helpdesk_ticket.domain.ticket.commands import Resolve, Take
from helpdesk_ticket.testing import run, start

AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONTENT = ArticleContent(
    title="Imprimantes en réseau injoignables",
    symptom="Les imprimantes en réseau ne répondent plus",
    resolution_steps=("Vérifier le câble", "Redémarrer le spouleur"),
    category="printers",
)


def apply(state: a.Article | None, events: list[ArticleEvent]) -> a.Article:
    for event in events:
        state = a.evolve_article(state, event)
    assert state is not None
    return state


def drafted(**kwargs: object) -> a.Article:
    command = a.DraftArticle(by="bob", at=AT, article_id=uuid.uuid4(), content=CONTENT, **kwargs)  # type: ignore[arg-type]
    return apply(None, a.decide_article(command, None))


def test_a_draft_is_version_one_and_records_its_tickets() -> None:
    ticket = uuid.uuid4()
    state = drafted(from_tickets=(ticket, ticket))
    assert state.status is a.ArticleStatus.DRAFT
    assert state.content_version == 1
    assert state.from_tickets == (ticket,)
    assert a.allowed_article_commands(state) == ["revise", "publish", "retire"]


def test_a_draft_needs_a_title_and_a_symptom() -> None:
    empty = CONTENT.model_copy(update={"symptom": " "})
    command = a.DraftArticle(by="bob", at=AT, article_id=uuid.uuid4(), content=empty)
    with pytest.raises(InvalidCommand) as error:
        a.decide_article(command, None)
    assert error.value.field == "symptom"


def test_each_revision_is_a_new_version_and_the_old_ones_stay() -> None:
    state = drafted()
    new = CONTENT.model_copy(update={"cause": "Pilote obsolète"})
    state = apply(state, a.decide_article(a.ReviseArticle(by="eve", at=AT, content=new), state))
    assert [v.number for v in state.versions] == [1, 2]
    assert state.versions[0].content.cause is None
    assert state.content.cause == "Pilote obsolète"


def test_revising_a_published_article_publishes_the_new_version() -> None:
    state = drafted()
    state = apply(state, a.decide_article(a.PublishArticle(by="eve", at=AT), state))
    events = a.decide_article(a.ReviseArticle(by="eve", at=AT, content=CONTENT), state)
    assert [type(e) for e in events] == [ArticleRevised, ArticlePublished]
    state = apply(state, events)
    assert state.published_version == 2
    assert state.status is a.ArticleStatus.PUBLISHED


def test_a_retired_article_takes_no_command() -> None:
    state = drafted()
    state = apply(state, a.decide_article(a.RetireArticle(by="eve", at=AT), state))
    with pytest.raises(TransitionNotAllowed) as error:
        a.decide_article(a.PublishArticle(by="eve", at=AT), state)
    assert error.value.allowed == []


def test_only_a_published_article_is_suggested_or_used() -> None:
    state = drafted()
    with pytest.raises(TransitionNotAllowed):
        a.decide_article(a.RecordSuggestion(by="eve", at=AT), state)
    state = apply(state, a.decide_article(a.PublishArticle(by="eve", at=AT), state))
    state = apply(state, a.decide_article(a.RecordSuggestion(by="eve", at=AT), state))
    assert state.suggested == 1


def test_a_ticket_counts_once_among_the_solved() -> None:
    state = drafted()
    state = apply(state, a.decide_article(a.PublishArticle(by="eve", at=AT), state))
    ticket = uuid.uuid4()
    use = a.RecordResolution(by="eve", at=AT, ticket_id=ticket)
    events = a.decide_article(use, state)
    assert [type(e) for e in events] == [ArticleUsedInResolution]
    state = apply(state, events)
    assert a.decide_article(use, state) == []
    assert state.solved == (ticket,)


def test_commands_on_a_missing_article_are_refused() -> None:
    with pytest.raises(ArticleNotFound):
        a.decide_article(a.PublishArticle(by="eve", at=AT), None)


def test_routing_keys_follow_the_names() -> None:
    assert ArticleUsedInResolution.routing_key() == "article.used_in_resolution"
    assert ArticlePublished.routing_key() == "article.published"


def test_a_resolved_ticket_prefills_symptom_and_steps() -> None:
    ticket, _ = run(
        start(),
        Take(by="bob", at=AT),
        Resolve(
            by="bob", at=AT, solution="Câble réseau rebranché.\nFile vidée", resolution_code="fixed"
        ),
    )
    content = content_from_ticket(ticket, Audience.PUBLIC)
    assert content.title == ticket.subject
    assert content.symptom == ticket.description
    assert content.resolution_steps == ("Câble réseau rebranché.", "File vidée")
    assert content.audience is Audience.PUBLIC


def test_an_unresolved_ticket_has_no_scenario_yet() -> None:
    with pytest.raises(InvalidCommand) as error:
        content_from_ticket(start())
    assert error.value.field == "from_ticket"


def test_sentences_become_steps_and_groups_merge_their_solutions() -> None:
    assert steps_of("Redémarrer le poste. Vider le cache") == (
        "Redémarrer le poste.",
        "Vider le cache",
    )
    content = content_from_group([start(), start()], "printers", "PRN-042")
    assert content.category == "printers"
    assert content.symptom == "Imprimante bloquée"
