import Core
import Foundation

/// What a first run (no delivered snapshot yet) does with the members it finds: `existing_users` for
/// export-users, `back_fill` for export-campaign.
public enum FirstRunPolicy: String, Sendable {
    /// Every current member counts as entered and is sent.
    case sendEveryone
    /// Nothing is sent; the members are recorded as the baseline, marked as not delivered by us.
    case recordBaseline
}

/// The counts of a diff.
public struct DiffCounts: Sendable, Equatable {
    public var previous = 0
    public var current = 0
    public var entered = 0
    /// Members delivered before and absent now (written to `exited.ndjson`).
    public var exited = 0
    public var changed = 0
    public var unchanged = 0
    /// First run with `recordBaseline`: members recorded without being sent.
    public var baseline = 0
    /// Members of a recorded baseline that left without ever being sent by this workflow: never
    /// removed from Responsys, only dropped from the state.
    public var exitedUndelivered = 0
    /// Members absent from the snapshot because their row was rejected for bad data (see `HeldMembers`):
    /// neither exited nor counted in `exitedUndelivered`.
    public var heldRejected = 0

    public init() {}
}

/// The files a diff wrote, all sorted by email.
public struct DiffResult: Sendable, Equatable {
    public var counts: DiffCounts
    public var isFirstRun: Bool
    /// Current snapshot lines of entered members.
    public var enteredPath: String
    /// Current snapshot lines of changed members, with `"changed":["fields"|"audiences",…]` added.
    public var changedPath: String
    /// Previous (delivered) snapshot lines of exited members.
    public var exitedPath: String
}

/// A streaming merge-diff of two sorted snapshot files: the new snapshot against the last delivered one.
/// Memory stays at two read buffers whatever the sizes.
public enum SnapshotDiff {
    public static let enteredFile = "entered.ndjson"
    public static let changedFile = "changed.ndjson"
    public static let exitedFile = "exited.ndjson"

    /// Diffs `current` against `previous` (nil or a missing file on the first run) and writes
    /// `entered.ndjson`, `changed.ndjson` and `exited.ndjson` into `outputFolder`. A previous member
    /// absent now whose email is in `held` (its row was rejected) is not an exit.
    public static func run(
        current: String, previous: String?, firstRun: FirstRunPolicy, outputFolder: String,
        held: Set<String> = []
    ) throws -> DiffResult {
        let previousPath = previous.flatMap { Files.exists($0) ? $0 : nil }
        let entered = try ByteFileWriter(path: outputFolder + "/" + enteredFile)
        let changed = try ByteFileWriter(path: outputFolder + "/" + changedFile)
        let exited = try ByteFileWriter(path: outputFolder + "/" + exitedFile)
        var counts = DiffCounts()

        let newer = try SortedSnapshotReader(path: current)
        if let previousPath {
            let older = try SortedSnapshotReader(path: previousPath)
            try newer.advance()
            try older.advance()
            while true {
                let order: Int
                switch (newer.line, older.line) {
                case (nil, nil): order = 0
                case (.some, nil): order = -1
                case (nil, .some): order = 1
                case (.some, .some): order = SnapshotLine.compare(newer.email, older.email)
                }
                if newer.line == nil && older.line == nil { break }
                if order < 0 {
                    counts.entered += 1
                    try entered.write(newer.line!)
                    try entered.writeByte(0x0A)
                    try newer.advance()
                } else if order > 0 {
                    if !held.isEmpty && held.contains(String(decoding: older.email, as: UTF8.self)) {
                        counts.heldRejected += 1
                    } else if SnapshotLine.isBaseline(older.line!) {
                        counts.exitedUndelivered += 1
                    } else {
                        counts.exited += 1
                        try exited.write(older.line!)
                        try exited.writeByte(0x0A)
                    }
                    try older.advance()
                } else {
                    let now = SnapshotLine.content(of: newer.line!)
                    let before = SnapshotLine.content(of: older.line!)
                    if SnapshotLine.equal(now, before) {
                        counts.unchanged += 1
                    } else {
                        counts.changed += 1
                        let nowParts = SnapshotLine.splitAudiences(now)
                        let beforeParts = SnapshotLine.splitAudiences(before)
                        var parts: [String] = []
                        if !SnapshotLine.equal(nowParts.fields, beforeParts.fields) { parts.append("\"fields\"") }
                        if !SnapshotLine.equal(nowParts.audiences, beforeParts.audiences) {
                            parts.append("\"audiences\"")
                        }
                        try changed.write(now)
                        try changed.write(",\"changed\":[" + parts.joined(separator: ",") + "]}\n")
                    }
                    try newer.advance()
                    try older.advance()
                }
            }
            counts.previous = older.count
        } else {
            try newer.advance()
            while let line = newer.line {
                if firstRun == .sendEveryone {
                    counts.entered += 1
                    try entered.write(line)
                    try entered.writeByte(0x0A)
                } else {
                    counts.baseline += 1
                }
                try newer.advance()
            }
        }
        counts.current = newer.count
        try entered.commit()
        try changed.commit()
        try exited.commit()
        return DiffResult(
            counts: counts, isFirstRun: previousPath == nil, enteredPath: entered.path, changedPath: changed.path,
            exitedPath: exited.path)
    }
}

/// Reads a sorted snapshot file line by line and checks that emails strictly increase, so a file that
/// is not a sorted snapshot is refused instead of producing a wrong diff.
final class SortedSnapshotReader {
    let path: String
    private let reader: LineReader
    private(set) var line: UnsafeRawBufferPointer?
    private(set) var email = UnsafeRawBufferPointer(start: nil, count: 0)
    private var previousEmail: [UInt8] = []
    private(set) var count = 0

    init(path: String) throws {
        self.path = path
        reader = try LineReader(source: FileByteSource(path: path))
    }

    /// Moves to the next line (nil at the end).
    func advance() throws {
        if line != nil {
            previousEmail.removeAll(keepingCapacity: true)
            previousEmail.append(contentsOf: email)
        }
        guard let next = try reader.next() else {
            line = nil
            return
        }
        guard let nextEmail = SnapshotLine.email(of: next) else {
            throw AudienceError(
                .badSnapshot, "\(path) line \(reader.lineNumber) is not a snapshot line",
                remedy: "snapshot files are written by the extract stage; re-run it")
        }
        if count > 0 {
            let order = previousEmail.withUnsafeBytes { SnapshotLine.compare(nextEmail, $0) }
            if order <= 0 {
                throw AudienceError(
                    .badSnapshot, "\(path) is not sorted by email at line \(reader.lineNumber)",
                    remedy: "snapshot files are written by the extract stage; re-run it")
            }
        }
        line = next
        email = nextEmail
        count += 1
    }
}
