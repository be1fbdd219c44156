"""The conformance suite: golden data recorded from the real frameworks, and tools to check any implementation against it."""
