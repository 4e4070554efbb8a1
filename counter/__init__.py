"""Counter app (ứng dụng quầy) for officers, with the citizen's rating. Built in the counter issue."""
