import Testing

@Test func placeholderStagingTests() {}
