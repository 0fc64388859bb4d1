// The HTTP module; see its issue.
