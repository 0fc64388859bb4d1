// The Warehouse module; see its issue.
