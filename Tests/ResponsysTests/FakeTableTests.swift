import Testing

@testable import FakeResponsys

@Suite struct FakeTableTests {
    @Test func keyColumnsAreFoundThroughTheIndexAsResponsysMatchesThem() {
        var table = FakeTable()
        let ann = table.insert(["RIID_": "1", "EMAIL_ADDRESS_": "Ann@Example.org", "CITY": "Oslo"])
        let bob = table.insert(["RIID_": "2", "EMAIL_ADDRESS_": "bob@example.org", "CUSTOMER_ID_": "c-2"])
        let ann2 = table.insert(["RIID_": "3", "EMAIL_ADDRESS_": "ann@example.org"])

        #expect(table.firstID(column: "EMAIL_ADDRESS_", value: "ANN@example.ORG") == ann, "email ignores case")
        #expect(table.ids(column: "EMAIL_ADDRESS_", value: "ann@example.org") == [ann, ann2], "oldest first")
        #expect(table.firstID(column: "CUSTOMER_ID_", value: "C-2") == nil, "other keys compare exactly")
        #expect(table.firstID(column: "CUSTOMER_ID_", value: "c-2") == bob)
        #expect(table.firstID(column: "CITY", value: "Oslo") == ann, "an unindexed column is searched row by row")
    }

    @Test func updatesAndRemovalsKeepTheIndexRight() {
        var table = FakeTable()
        let ann = table.insert(["RIID_": "1", "EMAIL_ADDRESS_": "ann@example.org"])
        table.update(ann, with: ["EMAIL_ADDRESS_": "anna@example.org", "CITY": "Bergen"])
        #expect(table.firstID(column: "EMAIL_ADDRESS_", value: "ann@example.org") == nil)
        #expect(table.firstID(column: "EMAIL_ADDRESS_", value: "anna@example.org") == ann)
        #expect(table[ann] == ["RIID_": "1", "EMAIL_ADDRESS_": "anna@example.org", "CITY": "Bergen"])

        let bob = table.insert(["RIID_": "2", "EMAIL_ADDRESS_": "bob@example.org"])
        table.remove(ann)
        #expect(table.firstID(column: "RIID_", value: "1") == nil)
        #expect(table.count == 1)
        #expect(table.all == [["RIID_": "2", "EMAIL_ADDRESS_": "bob@example.org"]])
        #expect(table.firstID(column: "RIID_", value: "2") == bob)
    }
}
