"""`python -m connectors.kingdee.sandbox --port 8765`: serve the sandbox, print its credentials."""

from .app import main

main()
