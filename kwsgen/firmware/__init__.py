"""Firmware generation: the application runtime, board projects and the engines that run them."""
