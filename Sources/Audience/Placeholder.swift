// The Audience module; see its issue.
