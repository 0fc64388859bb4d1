import Testing

@Test func placeholderResponsysTests() {}
