"""`python -m botdesk` is the `botdesk` command."""

from botdesk.cli import main

main()
