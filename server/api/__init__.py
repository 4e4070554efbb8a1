"""Thin HTTP and websocket routes: parse, authorise, call the service, map errors."""
