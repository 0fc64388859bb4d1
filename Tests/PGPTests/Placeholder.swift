import Testing

@Test func placeholderPGPTests() {}
