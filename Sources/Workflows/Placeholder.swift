// The Workflows module; see its issue.
