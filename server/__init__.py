"""hangdoi server: the single source of truth for every centre's ticket queues."""

__version__ = "0.1.0"
