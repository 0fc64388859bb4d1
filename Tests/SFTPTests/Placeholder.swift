import Testing

@Test func placeholderSFTPTests() {}
