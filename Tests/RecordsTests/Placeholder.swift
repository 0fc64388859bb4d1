import Testing

@Test func placeholderRecordsTests() {}
