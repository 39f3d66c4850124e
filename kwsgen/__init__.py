"""kwsgen: keyword spotting from recordings to bit-exact microcontroller firmware."""

__version__ = "0.1.0"
