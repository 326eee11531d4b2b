"""The knowledge article aggregate: its state, commands, rules (`decide_article`) and facts
(`evolve_article`), and its `DECIDER` for the kernel."""

from helpdesk_ticket.domain.article.aggregate import (
    DECIDER,
    Article,
    ArticleCommand,
    ArticleStatus,
    ContentVersion,
    DraftArticle,
    PublishArticle,
    RecordResolution,
    RecordSuggestion,
    RetireArticle,
    ReviseArticle,
    allowed_article_commands,
    decide_article,
    evolve_article,
)

__all__ = [
    "DECIDER",
    "Article",
    "ArticleCommand",
    "ArticleStatus",
    "ContentVersion",
    "DraftArticle",
    "PublishArticle",
    "RecordResolution",
    "RecordSuggestion",
    "RetireArticle",
    "ReviseArticle",
    "allowed_article_commands",
    "decide_article",
    "evolve_article",
]
