// The Config module; see its issue.
