"""The bigger ``centralita`` commands, one module each; ``bot.cli`` parses and dispatches."""
