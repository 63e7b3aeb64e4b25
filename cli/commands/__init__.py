"""One module per `tug` command; each has `register(subparsers, common)`."""
