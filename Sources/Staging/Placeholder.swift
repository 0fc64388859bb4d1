// The Staging module; see its issue.
