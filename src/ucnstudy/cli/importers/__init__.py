"""One CLI module per importer kind (see import_commands.KINDS)."""
