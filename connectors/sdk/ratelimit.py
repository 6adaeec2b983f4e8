"""Rate budgets: a connection's request allowance, shared by every job and process using it."""

from ._budget import (
    PROCESS_BUDGETS,
    BudgetStore,
    MemoryBudgetStore,
    RateBudget,
    RateCap,
    RateLimit,
)

__all__ = ["BudgetStore", "MemoryBudgetStore", "PROCESS_BUDGETS", "RateBudget", "RateCap",
           "RateLimit"]
