// The Archive module; see its issue.
