"""Host-side build, emulation and measurement helpers (the Python half of host_tools/)."""
