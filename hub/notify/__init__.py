"""Notify rules: ticket conditions → DingTalk / WeCom messages, once per ticket state.

`spec` holds the rules as configured (imported by `hub.config`, so this package imports
nothing else at import time); the services are in `engine` (`evaluate_ticket`,
`check_overdue`) and `send` (deliveries through the connectors).
"""

from hub.config.rules import MessageSpec, RuleSpec, TargetSpec, check_rules

__all__ = ["MessageSpec", "RuleSpec", "TargetSpec", "check_rules"]
