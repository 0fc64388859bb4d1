// The PGP module; see its issue.
