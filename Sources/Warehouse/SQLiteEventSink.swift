import Core
import Foundation
import Records

/// The `sqlite` sink: inserts events into `responsys_events` (schema `sql/events.sql`, created when absent),
/// in transactions of `batchSize` events. An event whose `event_id` is already stored is skipped
/// (`ON CONFLICT DO NOTHING`), so a load interrupted after some batches can simply be run again.
public final class SQLiteEventSink: EventSink {
    public let database: SQLiteDatabase
    public let batchSize: Int

    /// Opens (or creates) the database at `path`, creating its folder (0700) and the schema.
    public convenience init(path: String, batchSize: Int = 10_000) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try Files.makeDirectory(folder) }
        try self.init(database: SQLiteDatabase(path: path), batchSize: batchSize)
    }

    public init(database: SQLiteDatabase, batchSize: Int = 10_000) throws {
        precondition(batchSize > 0, "SQLiteEventSink batch size must be positive")
        self.database = database
        self.batchSize = batchSize
        try database.execute(EventSchema.sql)
    }

    /// The JSON keys read into columns; everything stays in `payload` too.
    private static let integerColumns: [(key: String, column: Int32)] = [
        ("account_id", 5), ("list_id", 6), ("riid", 7), ("campaign_id", 12), ("launch_id", 13), ("_line", 15),
    ]
    private static let textColumns: [(key: String, column: Int32)] = [
        ("_event_id", 1), ("stream", 2), ("event_type", 3), ("channel", 4), ("customer_id", 8), ("email", 9),
        ("event_captured_dt", 10), ("event_stored_dt", 11), ("_source_file", 14),
    ]

    public func load(ndjsonFile: String, sourceName: String) throws -> LoadCounts {
        let reader = try NDJSONLineReader(path: ndjsonFile)
        let insert = try database.prepare(
            """
            INSERT INTO responsys_events (event_id, stream, event_type, channel, account_id, list_id, riid,
                customer_id, email, event_captured_at, event_stored_at, campaign_id, launch_id, source_file,
                source_line, payload)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
            ON CONFLICT (event_id) DO NOTHING
            """)
        var counts = LoadCounts()
        var finished = false
        while !finished {
            try database.transaction {
                var inBatch = 0
                while inBatch < batchSize {
                    guard let line = try reader.nextLine() else {
                        finished = true
                        return
                    }
                    try bind(line, lineNumber: reader.lineNumber, file: ndjsonFile, to: insert)
                    if try insert.run() == 1 { counts.inserted += 1 } else { counts.alreadyPresent += 1 }
                    inBatch += 1
                }
            }
        }
        return counts
    }

    private func bind(_ line: UnsafeRawBufferPointer, lineNumber: Int, file: String, to insert: SQLiteStatement)
        throws
    {
        func bad(_ why: String) -> SinkError {
            SinkError(
                .badEvent, "\(file) line \(lineNumber): \(why)",
                remedy: "the file is not the output of the transform stage; re-run transform with --force")
        }
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw bad("not a JSON object")
            }
            object = parsed
        } catch let error as SinkError {
            throw error
        } catch {
            throw bad("not valid JSON")
        }
        insert.clearBindings()
        for (key, column) in SQLiteEventSink.textColumns {
            guard let value = object[key] else { continue }
            guard let text = value as? String else { throw bad("\(key) is not a string") }
            try insert.bind(text, at: column)
        }
        for (key, column) in SQLiteEventSink.integerColumns {
            guard let value = object[key] else { continue }
            // Bridging succeeds only when the number is exactly a whole number that fits. (On Linux a JSON
            // 0 or 1 also bridges to Bool, so booleans cannot be told apart here; the transform writes none.)
            guard let integer = value as? Int else { throw bad("\(key) is not a whole number") }
            try insert.bind(integer, at: column)
        }
        for required in ["_event_id", "stream", "event_type", "channel", "account_id", "_source_file", "_line"]
        where object[required] == nil {
            throw bad("the event has no \(required)")
        }
        try insert.bind(utf8: line, at: 16)
    }
}
