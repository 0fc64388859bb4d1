// The Records module; see its issue.
