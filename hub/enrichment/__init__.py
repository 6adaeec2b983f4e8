"""The enrichment pipeline: a store-backed queue of tickets owed an enrichment, a
per-customer history cache with a freshness TTL and shared fetches, and the drain that
works the queue (docs/enrichment.md)."""

from .cache import Fetched, fetch_history, mark_stale
from .pipeline import (
    AfterEnrichment,
    DrainResult,
    Outcome,
    drain_enrichment,
    enrich_job,
    enrich_new_ticket,
    enrich_now,
)
from .queue import depth, enqueue, enqueue_customer_changed
from .summary import history_summary

__all__ = ["AfterEnrichment", "DrainResult", "Fetched", "Outcome", "depth", "drain_enrichment",
           "enqueue", "enqueue_customer_changed", "enrich_job", "enrich_new_ticket", "enrich_now",
           "fetch_history", "history_summary", "mark_stale"]
