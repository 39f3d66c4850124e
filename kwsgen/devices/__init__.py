"""Talking to devices: the serial monitor, data capture, and the virtual device that stands in for a board."""
