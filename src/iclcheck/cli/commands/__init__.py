"""CLI subcommands: each module defines ``register(subparsers)`` which adds its parser and sets
``func`` (a callable taking the parsed args and returning an exit status)."""
