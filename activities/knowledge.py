"""Knowledge on the page: similar past incidents, looked up when an escalation's first page goes out.

The look-up runs inside the notify activity, alongside the page's other preparations, and is
bounded: a slow or broken record store costs the page at most ``SIMILAR_SECONDS``, never the
page itself. What it found travels back in the notify result; why it found nothing is one short
sentence naming the kind of failure only (a store's error may quote its address or the query).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol

import structlog

from escalation.learning import SimilarIncident
from escalation.models import Incident
from escalation.state import NotifyRequest

SIMILAR_SECONDS = 2.0
"""At most this (and a quarter of the page's time bound) goes to looking up similar incidents."""
SIMILAR_LIMIT = 3
MAX_TEXT = 500
"""Characters of a past root cause or prevention action a page carries: the rest is a click away."""
MAX_PREVENTION = 3

SimilarLookup = Callable[[Incident, str, datetime], Awaitable[list[SimilarIncident]]]
"""``(incident, incident_id, triggered_at)`` -> the best past incidents like it, excluding this one."""
Found = tuple[list[SimilarIncident] | None, str]
"""What a look-up found (None: it failed), and why not (empty when it did not fail)."""


class SimilarSource(Protocol):
    """The part of the record store the look-up needs."""

    def similar(
        self, incident: Incident, *, limit: int = 3, exclude: tuple[str, datetime] | None = None
    ) -> list[SimilarIncident]: ...


def store_lookup(store: SimilarSource) -> SimilarLookup:
    """The store's (blocking) search on threads of its own: a hung database holds those threads,
    never the ones the close-out saves records on."""
    threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="similar-incidents")

    async def similar(incident: Incident, incident_id: str, triggered_at: datetime) -> list[SimilarIncident]:
        search = functools.partial(
            store.similar, incident, limit=SIMILAR_LIMIT, exclude=(incident_id, triggered_at)
        )
        return await asyncio.get_running_loop().run_in_executor(threads, search)

    return similar


class Knowledge:
    """Looks up a first page's similar incidents for the notifier, within the time it is given."""

    def __init__(
        self, lookup: SimilarLookup, link: Callable[[str], str], redact: Callable[[str], str]
    ) -> None:
        """``link`` gives a past incident's Web UI address; ``redact`` scrubs a failure for the log."""
        self._lookup = lookup
        self._link = link
        self._redact = redact

    async def find(self, request: NotifyRequest, within: float) -> Found:
        """The best similar incidents, shortened for a page, each with its link; or None and why not."""
        if not request.first_page or request.triggered_at is None:
            return None, ""
        try:
            async with asyncio.timeout(within):
                found = await self._lookup(request.incident, request.incident_id, request.triggered_at)
        except TimeoutError:
            problem, detail = f"the record store did not answer within {within:.1f} s", ""
        except Exception as error:  # whatever the store raises, the page goes out
            problem = f"the record store failed ({type(error).__name__})"
            detail = self._redact(f"{type(error).__name__}: {error}")
        else:
            return [_for_page(past, self._link(past.incident_id)) for past in found[:SIMILAR_LIMIT]], ""
        log = structlog.get_logger()
        log.warning(
            "page without similar incidents", incident_id=request.incident_id, reason=problem, detail=detail
        )
        return None, problem


def _for_page(past: SimilarIncident, link: str) -> SimilarIncident:
    prevention = [_shortened(action) for action in past.prevention[:MAX_PREVENTION]]
    return past.model_copy(update={"root_cause": _shortened(past.root_cause), "prevention": prevention,
                                   "link": link})  # fmt: skip


def _shortened(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip() + "…"
