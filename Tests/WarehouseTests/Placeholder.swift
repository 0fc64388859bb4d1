import Testing

@Test func placeholderWarehouseTests() {}
