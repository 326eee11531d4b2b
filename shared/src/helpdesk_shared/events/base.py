"""Base class, registry and upcasting for the events that cross services.

Events are facts: frozen pydantic models with past-tense names. Each carries its type name and an
explicit schema version; stored events of an older version are upcast (dict -> dict) on read, so
code only ever sees the current shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_REGISTRY: dict[str, type[DomainEvent]] = {}
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UnknownEventType(LookupError):
    """Raised when a stored or received event type has no class in the catalogue."""


class MissingUpcaster(LookupError):
    """A stored body is older than its class and no upcaster brings it one version up: the
    catalogue bumped `schema_version` without registering the step."""

    def __init__(self, event_type: str, from_version: int, target: int) -> None:
        super().__init__(
            f"no upcaster for {event_type} from schema version {from_version} to "
            f"{from_version + 1} (the catalogue is at version {target})"
        )
        self.event_type = event_type
        self.from_version = from_version
        self.target = target


class DomainEvent(BaseModel):
    """A fact recorded in a stream. Subclasses set `stream_category` and may bump `schema_version`.

    The event type name is the class name (`TicketOpened`), which is the contract with subscribers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stream_category: ClassVar[str]
    schema_version: ClassVar[int] = 1
    #: Set on intermediate base classes (`TicketEvent`) so they stay out of the catalogue.
    abstract: ClassVar[bool] = True

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        if not getattr(cls, "stream_category", None):
            raise TypeError(f"event {cls.__name__} must declare a stream category")
        if cls.__name__ in _REGISTRY and _REGISTRY[cls.__name__] is not cls:
            raise TypeError(f"event type {cls.__name__} is defined twice")
        _REGISTRY[cls.__name__] = cls

    @classmethod
    def event_type(cls) -> str:
        """The type name on the wire and in the store."""
        return cls.__name__

    @classmethod
    def routing_key(cls) -> str:
        """`<category>.<event name in snake case, less a leading category word>`."""
        return routing_key_for(cls.stream_category, cls.__name__)

    def to_data(self) -> dict[str, Any]:
        """The JSON body stored and published."""
        return self.model_dump(mode="json")


def routing_key_for(category: str, event_type: str) -> str:
    """Routing key per docs/contracts.md: `TicketOpened` in a `ticket` stream -> `ticket.opened`."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", event_type).lower()
    prefix = category.lower() + "_"
    if snake.startswith(prefix):
        snake = snake[len(prefix) :]
    return f"{category}.{snake}"


def register_upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function turning version `from_version` of an event body into the next one."""

    def decorate(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(event_type, from_version)] = fn
        return fn

    return decorate


def event_class(event_type: str) -> type[DomainEvent]:
    """The catalogue class for a type name."""
    try:
        return _REGISTRY[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def upcast(event_type: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored body up to the class's current schema version."""
    target = event_class(event_type).schema_version
    version = schema_version
    while version < target:
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise MissingUpcaster(event_type, version, target)
        data = step(data)
        version += 1
    return data


def decode(event_type: str, schema_version: int, data: dict[str, Any]) -> DomainEvent:
    """Turn a stored or received body into its catalogue model, upcasting old versions."""
    cls = event_class(event_type)
    return cls.model_validate(upcast(event_type, schema_version, data))


def registered_events() -> dict[str, type[DomainEvent]]:
    """Every event class in the catalogue, by type name (for JSON Schema and AsyncAPI export)."""
    return dict(_REGISTRY)
