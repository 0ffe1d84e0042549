"""How an escalation reads to people: the Web UI's summary and details, the CLI's timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from escalation.learning import SimilarIncident
from escalation.models import Incident, Severity
from escalation.state import EventKind, Status, StatusView, TimelineEvent
from escalation.text import markdown_link, markdown_text

LATEST_NOTES = 5

_REPORT_FIELDS = (
    ("What happened", "what_happened"),
    ("Where", "where"),
    ("Started", "started_at"),
    ("Impact", "impact"),
    ("Actions taken", "actions_taken"),
    ("Ask", "ask"),
    ("Reporter", "reporter"),
)


def web_ui_url(base: str, namespace: str, incident_id: str) -> str:
    """The incident's page in the Temporal Web UI (its workflow id is the incident id)."""
    return f"{base.rstrip('/')}/namespaces/{quote(namespace)}/workflows/{quote(incident_id, safe='')}"


def headline(incident: Incident, severity: Severity | None = None) -> str:
    """One line naming the incident (at its current severity): the Web UI's static summary."""
    return f"{(severity or incident.severity).value} {incident.service}: {incident.title}"


def report_lines(incident: Incident) -> list[tuple[str, str]]:
    """The filled-in report fields, labelled, in reading order."""
    lines = [("Summary", incident.summary)] if incident.summary else []
    for label, field in _REPORT_FIELDS:
        value = getattr(incident.report, field)
        if value:
            lines.append((label, utc_text(value) if isinstance(value, datetime) else str(value)))
    return lines


def report_markdown(incident: Incident) -> str:
    """The incident report as Markdown: the Web UI's static details.

    Incident text is escaped, so it shows as written and never becomes a link or HTML; its line
    breaks stay line breaks. Links are autolinks of the validated http(s) URLs only.
    """
    lines = [f"**{label}:** {_markdown_lines(value)}" for label, value in report_lines(incident)]
    lines += [f"- {markdown_link(link)}" for link in incident.links]
    return "\n\n".join(lines) or "_No report details were given._"


def _markdown_lines(text: str) -> str:
    """Escaped text whose line breaks render as line breaks (two trailing spaces: a hard break)."""
    return markdown_text(text).replace("\n", "  \n")


def utc_text(moment: datetime | None) -> str:
    """In UTC, as on-call rotations span time zones; a time without a zone is taken as UTC."""
    if moment is None:
        return "-"
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return utc.strftime("%Y-%m-%d %H:%M:%S UTC")


def current_details(view: StatusView, with_report: bool = False) -> str:
    """Markdown for the Web UI's current details: where the escalation stands right now.

    ``with_report`` adds the incident report, for a run continued as new: only the first run
    carries the static summary and details, so later runs would otherwise show neither.
    """
    lines = [
        f"**Incident:** {markdown_text(headline(view.incident, view.severity))}",
        f"**Status:** {view.status.value}",
        f"**Tier:** {view.tier_name} ({view.phase.value}, round {view.round + 1})",
        f"**Policy:** {view.policy.name} v{view.policy.version}",
    ]
    if view.paging:
        lines.append(f"**Paging:** {', '.join(view.paging)}")
    if view.next_deadline:
        lines.append(f"**Next deadline:** {utc_text(view.next_deadline)}")
    if view.status is Status.EXHAUSTED:
        lines.append("Every tier was paged without an answer; anyone in the policy can still acknowledge.")
    if view.acknowledged_by:
        holder = f"{view.acknowledged_by}{_answered_via(view)}"
        lines.append(f"**Acknowledged by:** {holder} at {utc_text(view.acknowledged_at)}")
    if view.resolution:
        lines.append(
            f"**{view.status.value.capitalize()} by:** {view.resolved_by}: {view.resolution.summary}"
        )
    if view.occurrences > 1:
        lines.append(f"**Occurrences:** {view.occurrences}")
    if last_page := _last_page(view.timeline):
        lines.append(last_page)
    notes = [e for e in view.timeline if e.kind is EventKind.NOTE][-LATEST_NOTES:]
    if notes:
        items = "\n".join(f"- {utc_text(n.at)} {n.actor}: {_markdown_lines(n.note)}" for n in notes)
        lines.append(f"**Latest notes:**\n\n{items}")
    if view.similar is not None:
        lines.append(_similar_markdown(view.similar))
    if with_report:
        lines.append(f"**Report:**\n\n{report_markdown(view.incident)}")
    return "\n\n".join(lines)


def _similar_markdown(similar: list[SimilarIncident]) -> str:
    """The first page's similar past incidents; their text is incident text too, so it is escaped."""
    if not similar:
        return "**Similar past incidents:** none found"
    items = []
    for past in similar:
        lines = [f"- **{markdown_text(_past_headline(past))}** ({markdown_text(_when_and_who(past))})"]
        if past.root_cause:
            lines.append(f"  Root cause: {_markdown_lines(past.root_cause)}")
        if past.prevention:
            lines.append(f"  Prevention: {_markdown_lines('; '.join(past.prevention))}")
        if past.link:
            lines.append(f"  {markdown_link(past.link)}")
        items.append("  \n".join(lines))
    return "**Similar past incidents:**\n\n" + "\n".join(items)


def _past_headline(past: SimilarIncident) -> str:
    return f"{past.severity.value} {past.service}: {past.title}"


def _when_and_who(past: SimilarIncident) -> str:
    return f"{utc_text(past.triggered_at)}, resolved by {past.resolved_by or '-'}"


def similar_text(similar: list[SimilarIncident]) -> list[str]:
    """Similar past incidents for a terminal: one headline each, then root cause, prevention, link."""
    if not similar:
        return ["no similar past incidents found"]
    out = []
    for n, past in enumerate(similar, 1):
        out.append(f"{n}. {_past_headline(past)}  ({_when_and_who(past)})")
        if past.root_cause:
            out += _labelled("root cause", past.root_cause)
        if past.prevention:
            out += _labelled("prevention", "; ".join(past.prevention))
        if past.link:
            out.append(f"   {past.link}")
    return out


def _labelled(label: str, text: str) -> list[str]:
    """``   label: text``, a text of several lines indented under its first."""
    first, *rest = text.splitlines()
    return [f"   {label}: {first}", *(f"   {' ' * (len(label) + 2)}{line}" for line in rest)]


def _answered_via(view: StatusView) -> str:
    """`` via link`` when the holder's acknowledgement came from the page itself."""
    held = [e for e in view.timeline if e.kind in (EventKind.ACKNOWLEDGED, EventKind.REASSIGNED)]
    return f" via {held[-1].via.value}" if held and held[-1].via else ""


def _last_page(timeline: list[TimelineEvent]) -> str:
    """Who the latest page to finish reached on which channel, and why the rest failed.

    Named by its tier and phase: a page the ladder moved on from may finish after the next one.
    """
    pages = [e for e in timeline if e.kind in (EventKind.NOTIFIED, EventKind.NOTIFY_FAILED)]
    if not pages:
        return ""
    last = pages[-1]
    reached: dict[str, list[str]] = {}
    failed = []
    for event in (e for e in pages if (e.at, e.tier_name, e.phase) == (last.at, last.tier_name, last.phase)):
        via = f" via {event.channel.value}" if event.channel else ""
        if event.kind is EventKind.NOTIFIED:
            reached.setdefault(", ".join(event.targets), []).extend(
                [event.channel.value] if event.channel else []
            )
        else:
            failed.append(f"- not reached{via}: {event.note}")
    items = [f"- reached {who} via {', '.join(channels)}" for who, channels in reached.items()] + failed
    phase = f" ({last.phase.value})" if last.phase else ""
    heading = f"**Last page, tier {last.tier_name}{phase} ({utc_text(last.at)}):**"
    return f"{heading}\n\n" + "\n".join(items)


def _merged_pages(timeline: list[TimelineEvent]) -> list[tuple[TimelineEvent, list[str]]]:
    """Events with their channels; a page reaching the same people on several channels is one line."""
    merged: list[tuple[TimelineEvent, list[str]]] = []
    for event in timeline:
        channel = [event.channel.value] if event.channel else []
        if merged and event.kind is EventKind.NOTIFIED:
            previous, channels = merged[-1]
            page = (event.kind, event.at, event.tier_name, event.phase, event.targets)
            if (previous.kind, previous.at, previous.tier_name, previous.phase, previous.targets) == page:
                channels.extend(channel)
                continue
        merged.append((event, channel))
    return merged


def timeline_text(view: StatusView) -> str:
    """A plain-text rendering of the whole status for a terminal."""
    out = [
        f"{view.incident_id}  {headline(view.incident, view.severity)}",
        f"status {view.status.value} | tier {view.tier_name} ({view.phase.value}) | "
        f"policy {view.policy.name} v{view.policy.version}",
    ]
    if view.paging:
        out.append(f"paging {', '.join(view.paging)} until {utc_text(view.next_deadline)}")
    if view.acknowledged_by:
        out.append(f"acknowledged by {view.acknowledged_by}{_answered_via(view)}")
    if view.similar is not None:
        out += ["", "similar past incidents:", *(f"  {line}" for line in similar_text(view.similar))]
    out.append("")
    for n, (event, channels) in enumerate(_merged_pages(view.timeline)):
        if n == 1 and view.omitted_events:
            out.append(
                f"... {view.omitted_events} events omitted; the escalation's Temporal history keeps them"
            )
        parts = [utc_text(event.at), f"{event.kind.value:<15}", event.tier_name or ""]
        if event.actor:
            parts.append(f"by {event.actor}" + (f" via {event.via.value}" if event.via else ""))
        if event.targets:
            parts.append(", ".join(event.targets))
        if channels:
            parts.append(f"via {', '.join(channels)}")
        if event.note:
            parts.append(f"- {event.note}")
        out.append("  ".join(p for p in parts if p))
    return "\n".join(out)
