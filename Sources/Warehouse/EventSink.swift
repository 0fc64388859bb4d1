import Core
import Foundation
import Records

/// What loading one NDJSON file of events did.
public struct LoadCounts: Sendable, Equatable {
    /// Events stored by this load.
    public var inserted: Int
    /// Events the sink already held (from an earlier load of the same events), not stored again.
    public var alreadyPresent: Int

    public init(inserted: Int = 0, alreadyPresent: Int = 0) {
        self.inserted = inserted
        self.alreadyPresent = alreadyPresent
    }
}

/// A destination for the events of `import-events`. Loading is idempotent: loading the same file again
/// (after a crash, or a forced re-run) stores every event once.
public protocol EventSink {
    /// Loads every event of `ndjsonFile` (one JSON object per line, as written by `EventTransformer`);
    /// `sourceName` is the name of the file the events came from.
    func load(ndjsonFile: String, sourceName: String) throws -> LoadCounts
}

/// A failure of a sink that is not the database's or the file system's own.
public typealias SinkError = CodedError<SinkErrorCode>

/// What kind of failure a `SinkError` is.
public enum SinkErrorCode: String, ErrorCode {
    /// A line of the NDJSON file is not an event object of the expected shape.
    case badEvent
}
