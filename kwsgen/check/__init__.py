"""Checking and measuring generated C: compile it, run it (host, QEMU) beside TFLite Micro, size it.

A layer above the model compiler (kwsgen/codegen, pure: graph in, C out) and
the host tools (kwsgen/hosttools: compilers, QEMU, the ELF): it needs both,
and neither needs it.
"""
