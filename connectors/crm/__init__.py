"""Connector for a generic REST CRM, with a loopback sandbox that speaks its API."""
