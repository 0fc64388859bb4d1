// The FakeResponsys module; see its issue.
