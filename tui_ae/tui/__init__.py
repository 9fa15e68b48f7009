"""The explorer: a Textual app over the checkpoints; `tui-ae explore` runs it."""
