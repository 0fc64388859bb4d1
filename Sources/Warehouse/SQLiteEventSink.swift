import CSQLite3
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
    public convenience init(path: String, batchSize: Int = 50_000) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try Files.makeDirectory(folder) }
        try self.init(database: SQLiteDatabase(path: path), batchSize: batchSize)
    }

    public init(database: SQLiteDatabase, batchSize: Int = 50_000) throws {
        precondition(batchSize > 0, "SQLiteEventSink batch size must be positive")
        self.database = database
        self.batchSize = batchSize
        try database.execute(EventSchema.sql)
    }

    /// The JSON keys read into columns, in column order; everything stays in `payload` too.
    private static let columns: [(key: String, column: String, type: String, required: Bool)] = [
        ("_event_id", "event_id", "text", true), ("stream", "stream", "text", true),
        ("event_type", "event_type", "text", true), ("channel", "channel", "text", true),
        ("account_id", "account_id", "integer", true), ("list_id", "list_id", "integer", false),
        ("riid", "riid", "integer", false), ("customer_id", "customer_id", "text", false),
        ("email", "email", "text", false), ("event_captured_dt", "event_captured_at", "text", false),
        ("event_stored_dt", "event_stored_at", "text", false), ("campaign_id", "campaign_id", "integer", false),
        ("launch_id", "launch_id", "integer", false), ("_source_file", "source_file", "text", true),
        ("_line", "source_line", "integer", true),
    ]

    /// True for an event of the expected shape: a JSON object whose column keys have the right JSON types
    /// (required ones present). A CASE, so no JSON function sees text that is not JSON.
    private static let shapeIsRight: String = {
        let checks = columns.map { entry in
            entry.required
                ? "json_type(?1, '$.\(entry.key)') = '\(entry.type)'"
                : "coalesce(json_type(?1, '$.\(entry.key)'), '\(entry.type)') = '\(entry.type)'"
        }
        return "CASE WHEN json_valid(?1) AND json_type(?1) = 'object' THEN "
            + checks.joined(separator: " AND ") + " ELSE 0 END"
    }()

    /// SQLite reads the columns out of the line itself (json_extract, one parse per line, cached within the
    /// statement), so the line is never parsed in Swift. A line of the wrong shape gets a NULL event_id, which
    /// the NOT NULL constraint refuses. (A single-row VALUES, unlike INSERT … SELECT, needs no statement
    /// journal: with one, SQLite copied every touched page per row and the load ran twice as long.)
    private static let insertSQL: String = {
        let names = columns.map(\.column).joined(separator: ", ")
        let values = columns.enumerated().map { index, entry in
            let value = "json_extract(?1, '$.\(entry.key)')"
            // json_extract throws on text that is not JSON, so every value is guarded.
            return "CASE WHEN \(index == 0 ? shapeIsRight : "json_valid(?1)") THEN \(value) END"
        }
        return """
            INSERT INTO responsys_events (\(names), payload)
            VALUES (\(values.joined(separator: ", ")), ?1)
            ON CONFLICT (event_id) DO NOTHING
            """
    }()

    /// Page cache for the load, in KiB (passed negated: SQLite's way of giving a size in KiB). Events with random
    /// ids touch pages all over the key and the indexes; with SQLite's default 2 MiB a 1 M-event load took about
    /// a third longer (bench/load.sh).
    static let cacheKiB = 64 * 1024

    /// The slow path, for a line the shape check refused: whether it is JSON, an object, and each column key's
    /// JSON type (NULL when absent), so `problem` can name what is wrong.
    private static let shapeSQL: String = {
        let types = columns.map {
            "CASE WHEN json_valid(?1) AND json_type(?1) = 'object' "
                + "THEN json_type(?1, '$.\($0.key)') END"
        }
        return "SELECT json_valid(?1), CASE WHEN json_valid(?1) THEN json_type(?1) END, "
            + types.joined(separator: ", ")
    }()

    public func load(ndjsonFile: String, sourceName: String) throws -> LoadCounts {
        let reader = try NDJSONLineReader(path: ndjsonFile)
        try database.execute("PRAGMA cache_size = -\(Self.cacheKiB)")
        let insert = try database.prepare(Self.insertSQL)
        let shape = try database.prepare(Self.shapeSQL)
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
                    try insert.bind(utf8: line, at: 1)
                    do {
                        // Nothing inserted means ON CONFLICT DO NOTHING: the event is already stored.
                        if try insert.run() == 1 { counts.inserted += 1 } else { counts.alreadyPresent += 1 }
                    } catch let error as SQLiteError where error.resultCode == retl_sqlite3_constraint_notnull() {
                        // The shape check left the event without an id: find out what is wrong with the line.
                        try shape.bind(utf8: line, at: 1)
                        guard let why = Self.problem(shapeRow: try shape.allRows().first ?? []) else { throw error }
                        throw SinkError(
                            .badEvent, "\(ndjsonFile) line \(reader.lineNumber): \(why)",
                            remedy: "the file is not the output of the transform stage; re-run transform with --force")
                    }
                    inBatch += 1
                }
            }
        }
        return counts
    }

    /// What is wrong with a line, from its row of `shapeSQL`; nil when it has the shape of an event.
    private static func problem(shapeRow row: [SQLiteValue]) -> String? {
        guard row.count == columns.count + 2, row[0].intValue == 1 else { return "not valid JSON" }
        guard row[1].textValue == "object" else { return "not a JSON object" }
        for (entry, type) in zip(columns, row.dropFirst(2)) {
            guard let type = type.textValue else {
                if entry.required { return "the event has no \(entry.key)" }
                continue
            }
            if type != entry.type {
                return "\(entry.key) is not \(entry.type == "text" ? "a string" : "a whole number") (it is \(type))"
            }
        }
        return nil
    }
}
