"""The service layer: one function per command or query. A command opens a unit of work, loads
what it needs, asks the engine, writes the new state and its events, commits, then publishes."""
