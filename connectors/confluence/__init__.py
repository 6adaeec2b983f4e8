"""Connector for Confluence Cloud, with a loopback sandbox that speaks its v1 content API."""
