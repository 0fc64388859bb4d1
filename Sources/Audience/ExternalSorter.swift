import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What writing a sorted snapshot did.
public struct SnapshotCounts: Sendable, Equatable {
    /// Members written (one per distinct email).
    public var members = 0
    /// Rows dropped because a later row had the same email.
    public var duplicates = 0
    /// Sorted runs spilled to disk (0 when the snapshot fitted in the memory budget).
    public var runs = 0

    public init(members: Int = 0, duplicates: Int = 0, runs: Int = 0) {
        self.members = members
        self.duplicates = duplicates
        self.runs = runs
    }
}

/// Writes canonical snapshot lines sorted by email with bounded memory.
///
/// Lines are gathered in a batch (an arena of lines and an index of entries); when it is full it is
/// sorted and written to a run file in `temporaryFolder` *on a thread of its own* while the caller fills
/// a second batch, so parsing and sorting overlap. Each batch gets half the budget. `finish` merges the
/// runs (k-way, with a heap) into the output. For an email seen more than once the last one *in input
/// order* wins: within a run the sort breaks ties by arena position, and across runs the later run wins.
public final class ExternalSorter {
    fileprivate struct Entry {
        var key: UInt64
        var key2: UInt64
        var offset: Int
        var length: Int32
        var emailLength: Int32
    }

    /// Lines and their index; owned by the sorter, or by a spill job while it is written.
    fileprivate final class Batch: @unchecked Sendable {
        var arena: UnsafeMutableRawBufferPointer
        var used = 0
        var entries: [Entry] = []
        let entryLimit: Int

        init(bytes: Int, entryLimit: Int) {
            arena = .allocate(byteCount: bytes, alignment: 16)
            self.entryLimit = entryLimit
            entries.reserveCapacity(entryLimit)
        }

        deinit { arena.deallocate() }

        func fits(_ count: Int) -> Bool { used + count <= arena.count && entries.count < entryLimit }

        func reset() {
            used = 0
            entries.removeAll(keepingCapacity: true)
        }

        /// Makes room for one line longer than the arena (only when the batch is empty).
        func grow(to count: Int) {
            guard count > arena.count else { return }
            arena.deallocate()
            arena = .allocate(byteCount: count, alignment: 16)
        }

        func append(_ line: UnsafeRawBufferPointer, email: UnsafeRawBufferPointer) {
            (arena.baseAddress! + used).copyMemory(from: line.baseAddress!, byteCount: line.count)
            entries.append(
                Entry(
                    key: ExternalSorter.prefixKey(email, from: 0), key2: ExternalSorter.prefixKey(email, from: 8),
                    offset: used, length: Int32(line.count), emailLength: Int32(email.count)))
            used += line.count
        }

        /// Sorts the entries and drops duplicates, keeping the last in input order. Returns the
        /// number dropped.
        func sortUnique() -> Int {
            let base = UnsafeRawPointer(arena.baseAddress!)
            entries.sort { a, b in
                if a.key != b.key { return a.key < b.key }
                if a.key2 != b.key2 { return a.key2 < b.key2 }
                let order = ExternalSorter.compareEmails(base, a, b)
                if order != 0 { return order < 0 }
                return a.offset < b.offset
            }
            var kept = 0
            var dropped = 0
            for index in entries.indices {
                let entry = entries[index]
                if kept > 0, entries[kept - 1].key == entry.key, entries[kept - 1].key2 == entry.key2,
                    ExternalSorter.compareEmails(base, entries[kept - 1], entry) == 0
                {
                    entries[kept - 1] = entry
                    dropped += 1
                } else {
                    entries[kept] = entry
                    kept += 1
                }
            }
            entries.removeLast(entries.count - kept)
            return dropped
        }

        func write(to writer: ByteFileWriter) throws {
            let base = UnsafeRawPointer(arena.baseAddress!)
            for entry in entries {
                try writer.write(UnsafeRawBufferPointer(start: base + entry.offset, count: Int(entry.length)))
                try writer.writeByte(0x0A)
            }
        }
    }

    /// Sorting and writing one batch as a run, on its own thread.
    fileprivate final class SpillJob: @unchecked Sendable {
        let batch: Batch
        let path: String
        private(set) var duplicates = 0
        private(set) var failure: Error?
        private let done = DispatchSemaphore(value: 0)

        init(batch: Batch, path: String) {
            self.batch = batch
            self.path = path
        }

        func start() {
            let thread = Thread { [self] in
                do {
                    duplicates = batch.sortUnique()
                    let writer = try ByteFileWriter(path: path, atomic: false)
                    try batch.write(to: writer)
                    try writer.commit()
                } catch {
                    failure = error
                }
                done.signal()
            }
            thread.start()
        }

        /// Waits for the run to be written; the semaphore orders the job's writes before the caller's reads.
        func wait() { done.wait() }
    }

    private let memoryBudget: Int
    private let temporaryFolder: String
    private var current: Batch
    private var spare: Batch?
    private var inFlight: SpillJob?
    private var runPaths: [String] = []
    private var scratch: [UInt8] = []
    private var duplicates = 0
    private var finished = false

    /// - Parameters:
    ///   - memoryBudgetBytes: the memory the sorter may hold in lines and their index (at least 8 KiB
    ///     is used), split between the batch being filled and the one being written; the merge adds one
    ///     read buffer per run.
    ///   - temporaryFolder: where runs are written; created if missing, runs removed by `finish`.
    public init(memoryBudgetBytes: Int, temporaryFolder: String) throws {
        memoryBudget = max(memoryBudgetBytes, 8192)
        self.temporaryFolder = temporaryFolder
        try Files.makeDirectory(temporaryFolder)
        current = ExternalSorter.makeBatch(budget: memoryBudget)
    }

    private static func makeBatch(budget: Int) -> Batch {
        Batch(bytes: budget * 3 / 8, entryLimit: max(16, budget / 8 / MemoryLayout<Entry>.stride))
    }

    deinit {
        inFlight?.wait()
        for path in runPaths { unlink(path) }
    }

    /// Adds a member (any order; a later member replaces an earlier one with the same email).
    public func add(_ member: AudienceMember) throws {
        scratch.removeAll(keepingCapacity: true)
        member.appendSnapshotLine(to: &scratch)
        try scratch.withUnsafeBytes { try add(line: $0) }
    }

    func add(row: ExtractedRow, encoder: SnapshotEncoder) throws {
        scratch.removeAll(keepingCapacity: true)
        encoder.encode(row, into: &scratch)
        try scratch.withUnsafeBytes { try add(line: $0) }
    }

    /// Adds one canonical line (without its line break).
    func add(line: UnsafeRawBufferPointer) throws {
        precondition(!finished, "ExternalSorter used after finish")
        guard let email = SnapshotLine.email(of: line) else {
            preconditionFailure("ExternalSorter.add(line:) takes canonical snapshot lines only")
        }
        if !current.fits(line.count) {
            if !current.entries.isEmpty { try startSpill() }
            current.grow(to: line.count)
        }
        current.append(line, email: email)
    }

    /// Eight bytes of the email from `start` as a big-endian number (zero-padded), so most comparisons
    /// are one or two integer comparisons.
    fileprivate static func prefixKey(_ email: UnsafeRawBufferPointer, from start: Int) -> UInt64 {
        var key: UInt64 = 0
        for index in start..<start + 8 {
            key = key << 8 | UInt64(index < email.count ? email[index] : 0)
        }
        return key
    }

    fileprivate static func compareEmails(_ base: UnsafeRawPointer, _ a: Entry, _ b: Entry) -> Int {
        let prefix = SnapshotLine.emailPrefix.utf8CodeUnitCount
        let common = Int(min(a.emailLength, b.emailLength))
        if common > 16 {
            let order = memcmp(base + a.offset + prefix + 16, base + b.offset + prefix + 16, common - 16)
            if order != 0 { return Int(order) }
        }
        return Int(a.emailLength) - Int(b.emailLength)
    }

    /// Waits for the run being written, taking its batch back as the spare.
    private func waitForSpill() throws {
        guard let job = inFlight else { return }
        inFlight = nil
        job.wait()
        duplicates += job.duplicates
        job.batch.reset()
        spare = job.batch
        if let failure = job.failure { throw failure }
    }

    /// Hands the current batch to a spill job and continues in the spare one.
    private func startSpill() throws {
        try waitForSpill()
        let path = temporaryFolder + String(format: "/run-%06d.ndjson", runPaths.count + 1)
        runPaths.append(path)
        let job = SpillJob(batch: current, path: path)
        inFlight = job
        job.start()
        current = spare ?? ExternalSorter.makeBatch(budget: memoryBudget)
        spare = nil
    }

    /// Writes every line added, sorted by email, without duplicates, to `path` (atomically).
    public func finish(to path: String) throws -> SnapshotCounts {
        precondition(!finished, "ExternalSorter finished twice")
        finished = true
        let output = try ByteFileWriter(path: path)
        var counts = SnapshotCounts()
        if runPaths.isEmpty {
            duplicates += current.sortUnique()
            try current.write(to: output)
            counts.members = current.entries.count
        } else {
            if !current.entries.isEmpty { try startSpill() }
            try waitForSpill()
            current = Batch(bytes: 16, entryLimit: 16)
            spare = nil
            counts.members = try mergeRuns(into: output)
            counts.runs = runPaths.count
        }
        try output.commit()
        for path in runPaths { unlink(path) }
        runPaths = []
        counts.duplicates = duplicates
        return counts
    }

    /// The k-way merge: a binary heap of run cursors ordered by (email, run number).
    private func mergeRuns(into output: ByteFileWriter) throws -> Int {
        let bufferSize = min(1 << 20, max(1 << 14, memoryBudget / (runPaths.count + 1)))
        var readers: [LineReader] = []
        var lines: [UnsafeRawBufferPointer] = []
        var emails: [UnsafeRawBufferPointer] = []
        var heap: [Int] = []
        for (run, path) in runPaths.enumerated() {
            let reader = try LineReader(source: FileByteSource(path: path), bufferSize: bufferSize)
            readers.append(reader)
            lines.append(UnsafeRawBufferPointer(start: nil, count: 0))
            emails.append(UnsafeRawBufferPointer(start: nil, count: 0))
            if let line = try reader.next() {
                lines[run] = line
                emails[run] = try runEmail(line, run: run)
                heap.append(run)
            }
        }

        func less(_ a: Int, _ b: Int) -> Bool {
            let order = SnapshotLine.compare(emails[a], emails[b])
            return order != 0 ? order < 0 : a < b
        }
        func siftDown(_ start: Int) {
            var index = start
            while true {
                let left = 2 * index + 1
                let right = left + 1
                var smallest = index
                if left < heap.count && less(heap[left], heap[smallest]) { smallest = left }
                if right < heap.count && less(heap[right], heap[smallest]) { smallest = right }
                if smallest == index { return }
                heap.swapAt(index, smallest)
                index = smallest
            }
        }
        func siftUp(_ start: Int) {
            var index = start
            while index > 0 {
                let parent = (index - 1) / 2
                guard less(heap[index], heap[parent]) else { return }
                heap.swapAt(index, parent)
                index = parent
            }
        }
        for index in stride(from: heap.count / 2, through: 0, by: -1) { siftDown(index) }
        func popMin() -> Int {
            let top = heap[0]
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            if !heap.isEmpty { siftDown(0) }
            return top
        }
        func advance(_ run: Int) throws {
            if let line = try readers[run].next() {
                lines[run] = line
                emails[run] = try runEmail(line, run: run)
                heap.append(run)
                siftUp(heap.count - 1)
            }
        }

        var written = 0
        while !heap.isEmpty {
            var winner = popMin()
            // Every run holding the same email is next on the heap; the latest run is the latest input.
            while let next = heap.first, SnapshotLine.compare(emails[next], emails[winner]) == 0 {
                _ = popMin()
                duplicates += 1
                if next > winner {
                    try advance(winner)
                    winner = next
                } else {
                    try advance(next)
                }
            }
            try output.write(lines[winner])
            try output.writeByte(0x0A)
            written += 1
            try advance(winner)
        }
        return written
    }

    private func runEmail(_ line: UnsafeRawBufferPointer, run: Int) throws -> UnsafeRawBufferPointer {
        guard let email = SnapshotLine.email(of: line) else {
            throw AudienceError(.badSnapshot, "sort run \(runPaths[run]) holds a damaged line")
        }
        return email
    }

    /// Sorts `members` into a snapshot file at `path`.
    public static func writeSortedSnapshot(
        _ members: some Sequence<AudienceMember>, to path: String, memoryBudgetBytes: Int, temporaryFolder: String
    ) throws -> SnapshotCounts {
        let sorter = try ExternalSorter(memoryBudgetBytes: memoryBudgetBytes, temporaryFolder: temporaryFolder)
        for member in members { try sorter.add(member) }
        return try sorter.finish(to: path)
    }
}

/// Encodes extracted rows as canonical snapshot lines, byte for byte as `AudienceMember.snapshotLine`.
struct SnapshotEncoder: Sendable {
    private let fields: [(name: String, index: Int)]
    private let audiences: [(name: String, index: Int)]

    init(options: AudienceSnapshotOptions) {
        fields = options.additionalFields.enumerated().map { ($0.element, $0.offset) }.sorted { $0.name < $1.name }
        audiences = options.audienceMemberships.enumerated().map { ($0.element, $0.offset) }.sorted {
            $0.name < $1.name
        }
    }

    func encode(_ row: ExtractedRow, into out: inout [UInt8]) {
        out.append("{\"email\":")
        appendJSONString(row.email, to: &out)
        out.append(",\"fields\":{")
        var first = true
        for field in fields {
            guard let value = row.values[field.index], !value.isEmpty else { continue }
            if !first { out.append(0x2C) }
            first = false
            appendJSONString(field.name, to: &out)
            out.append(0x3A)
            appendJSONString(value, to: &out)
        }
        out.append("},\"audiences\":[")
        first = true
        for audience in audiences where row.memberships[audience.index] {
            if !first { out.append(0x2C) }
            first = false
            appendJSONString(audience.name, to: &out)
        }
        out.append("]}")
    }
}
