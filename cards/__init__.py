"""Pure renderers: one neutral card view, one renderer per channel."""
