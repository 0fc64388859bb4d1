import Core
import Foundation

/// What the new delivered state holds.
public struct DeliveredCounts: Sendable, Equatable {
    /// Members in the new state.
    public var members = 0
    /// Members whose previous state was kept because their delivery failed.
    public var keptAfterFailure = 0
    /// Entered members left out because their delivery failed (they enter again next run).
    public var droppedAfterFailure = 0
    /// Members absent from the snapshot whose previous line was kept because their row was rejected.
    public var keptHeld = 0
    /// Members no longer in the audience kept because the workflow keeps everyone it ever delivered.
    public var keptExited = 0

    public init() {}
}

/// The last delivered audience snapshot, kept in `state/` between runs.
///
/// After load, the new state is the previous state with this run's *successful* changes applied:
/// a member whose delivery failed keeps its previous line (or stays absent when it was entering),
/// so the next diff finds the same change and sends it again.
public enum DeliveredState {
    /// Merges `previous` (nil on a first run) with `current` into `path`, streaming, sorted.
    ///
    /// For each email: in both files → the current line, unless it failed (then the previous line) or
    /// the data did not change (then the previous line, keeping a baseline mark); only current → the
    /// current line unless it failed; only previous (an exit) → dropped, unless its removal failed, it is
    /// `held` (its source row was rejected, see `HeldMembers`: the previous line, baseline mark included) or
    /// `keepExited` is set. A campaign keeps its exited members: the state is then everyone ever sent, so a
    /// member who leaves and comes back is not an entrant again and never gets the email twice.
    public static func applyDelivery(
        previous: String?, current: String, failedEmails: Set<String>, held: Set<String> = [],
        keepExited: Bool = false, to path: String
    ) throws -> DeliveredCounts {
        let output = try ByteFileWriter(path: path)
        var counts = DeliveredCounts()
        let newer = try SortedSnapshotReader(path: current)
        try newer.advance()
        let older = try previous.flatMap { Files.exists($0) ? try SortedSnapshotReader(path: $0) : nil }
        try older?.advance()

        func failed(_ email: UnsafeRawBufferPointer) -> Bool {
            !failedEmails.isEmpty && failedEmails.contains(String(decoding: email, as: UTF8.self))
        }
        func keep(_ line: UnsafeRawBufferPointer) throws {
            try output.write(line)
            try output.writeByte(0x0A)
            counts.members += 1
        }

        while newer.line != nil || older?.line != nil {
            let order: Int
            if newer.line != nil, let older, older.line != nil {
                order = SnapshotLine.compare(newer.email, older.email)
            } else {
                order = newer.line != nil ? -1 : 1
            }
            if order < 0 {
                if failed(newer.email) {
                    counts.droppedAfterFailure += 1
                } else {
                    try keep(newer.line!)
                }
                try newer.advance()
            } else if order > 0 {
                if failed(older!.email) {
                    counts.keptAfterFailure += 1
                    try keep(older!.line!)
                } else if !held.isEmpty && held.contains(String(decoding: older!.email, as: UTF8.self)) {
                    counts.keptHeld += 1
                    try keep(older!.line!)
                } else if keepExited {
                    counts.keptExited += 1
                    try keep(older!.line!)
                }
                try older!.advance()
            } else {
                let same = SnapshotLine.equal(
                    SnapshotLine.content(of: newer.line!), SnapshotLine.content(of: older!.line!))
                if same {
                    try keep(older!.line!)
                } else if failed(newer.email) {
                    counts.keptAfterFailure += 1
                    try keep(older!.line!)
                } else {
                    try keep(newer.line!)
                }
                try newer.advance()
                try older!.advance()
            }
        }
        try output.commit()
        return counts
    }

    /// A first run that sends nothing (`existing_users = false`, `back_fill = false`): the current
    /// snapshot becomes the state, each line marked as a baseline, so a later exit of these members is
    /// never sent as a removal (this workflow did not deliver them).
    public static func recordBaseline(current: String, to path: String) throws -> DeliveredCounts {
        let output = try ByteFileWriter(path: path)
        var counts = DeliveredCounts()
        let newer = try SortedSnapshotReader(path: current)
        try newer.advance()
        while let line = newer.line {
            try output.write(SnapshotLine.content(of: line))
            try output.write(",\"baseline\":true}\n")
            counts.members += 1
            try newer.advance()
        }
        try output.commit()
        return counts
    }
}
