// The Responsys module; see its issue.
