"""Web pages served by the server itself: the rating page for a tablet at a counter."""
