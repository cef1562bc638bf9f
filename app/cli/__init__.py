"""The `mopeft` command line. Each sibling module holding `register(subparsers)` adds one subcommand."""
