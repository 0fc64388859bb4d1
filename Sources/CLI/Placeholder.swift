// The CLI module; see its issue.
