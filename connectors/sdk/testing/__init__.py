"""The connector test kit (conformance suite, fault injection, record/replay) and sandboxes."""
