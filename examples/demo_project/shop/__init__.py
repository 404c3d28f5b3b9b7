"""A small shop: orders, their Observer, listeners and typed events."""
