"""The stage order: accept, flush, act and escalate (pipeline), the scheduler that drives
them, the configuration in force (runtime), and preview."""
