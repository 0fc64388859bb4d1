import Core
import Foundation
import Warehouse

extension SampleData {
    /// Creates (or refreshes) the demo's `users` table in the warehouse, from the same users as the files.
    public func loadUsers(into databasePath: String) throws -> Int {
        try Files.makeDirectory((databasePath as NSString).deletingLastPathComponent)
        let database = try SQLiteDatabase(path: databasePath)
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS users (
                email        TEXT NOT NULL PRIMARY KEY,
                first_name   TEXT,
                last_name    TEXT,
                city         TEXT,
                customer_id  TEXT UNIQUE,
                high_value   INTEGER NOT NULL DEFAULT 0,
                signed_up_at TEXT NOT NULL
            )
            """)
        let insert = try database.prepare(
            "INSERT OR REPLACE INTO users VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        try database.transaction {
            for (index, user) in SampleData.users.enumerated() {
                // Every third user signed up within the last week: the welcome campaign's audience.
                let signedUp = now.addingTimeInterval(-Double(index) * 86_400 * 2)
                try insert.bind(user.email, at: 1)
                try insert.bind(user.firstName, at: 2)
                try insert.bind(user.lastName, at: 3)
                try insert.bind(user.city, at: 4)
                try insert.bind(user.customerID, at: 5)
                try insert.bind(user.highValue ? 1 : 0, at: 6)
                try insert.bind(Timestamp.iso8601(signedUp), at: 7)
                _ = try insert.step()
                insert.reset()
            }
        }
        return SampleData.users.count
    }
}
