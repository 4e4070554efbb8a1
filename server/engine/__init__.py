"""The queue engine: every rule of the queue, in plain Python with no I/O.

The service layer loads the rows a command needs, converts them to these dataclasses, calls one
function here, and writes the changed objects and the returned events back in one transaction.
"""
