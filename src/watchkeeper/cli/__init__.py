"""Command line interface; see ``main.py``."""
