"""`python -m isthmus` runs the command line."""

from isthmus.cli import main

main()
