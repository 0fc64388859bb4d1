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
/// Lines are gathered in an arena of about three quarters of the budget; when it is full they are
/// sorted and written to a run file in `temporaryFolder`. `finish` merges the runs (k-way, with a heap)
/// into the output. For an email seen more than once the last one *in input order* wins: within a run
/// the sort breaks ties by arena position, and across runs the later run wins.
public final class ExternalSorter {
    private struct Entry {
        var key: UInt64
        var offset: Int
        var length: Int32
        var emailLength: Int32
    }

    private let memoryBudget: Int
    private let temporaryFolder: String
    private var arena: UnsafeMutableRawBufferPointer
    private var used = 0
    private var entries: [Entry] = []
    private let entryLimit: Int
    private var runPaths: [String] = []
    private var scratch: [UInt8] = []
    private var duplicates = 0
    private var finished = false

    /// - Parameters:
    ///   - memoryBudgetBytes: the memory the sorter may hold in lines and their index (at least 4 KiB
    ///     is used); the merge adds one read buffer per run.
    ///   - temporaryFolder: where runs are written; created if missing, runs removed by `finish`.
    public init(memoryBudgetBytes: Int, temporaryFolder: String) throws {
        memoryBudget = max(memoryBudgetBytes, 4096)
        self.temporaryFolder = temporaryFolder
        try Files.makeDirectory(temporaryFolder)
        arena = .allocate(byteCount: memoryBudget * 3 / 4, alignment: 16)
        entryLimit = max(16, memoryBudget / 4 / MemoryLayout<Entry>.stride)
    }

    deinit {
        arena.deallocate()
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
        if used + line.count > arena.count || entries.count >= entryLimit {
            try spill()
            if line.count > arena.count {
                arena.deallocate()
                arena = .allocate(byteCount: line.count, alignment: 16)
            }
        }
        (arena.baseAddress! + used).copyMemory(from: line.baseAddress!, byteCount: line.count)
        entries.append(
            Entry(
                key: Self.prefixKey(email), offset: used, length: Int32(line.count),
                emailLength: Int32(email.count)))
        used += line.count
    }

    /// The first eight bytes of the email as a big-endian number, so most comparisons are one integer
    /// comparison.
    private static func prefixKey(_ email: UnsafeRawBufferPointer) -> UInt64 {
        var key: UInt64 = 0
        for index in 0..<8 {
            key = key << 8 | UInt64(index < email.count ? email[index] : 0)
        }
        return key
    }

    /// Sorts the arena's entries and drops duplicates, keeping the last in input order.
    private func sortedUniqueEntries() -> [Entry] {
        let base = UnsafeRawPointer(arena.baseAddress!)
        entries.sort { a, b in
            if a.key != b.key { return a.key < b.key }
            let order = Self.compareEmails(base, a, b)
            if order != 0 { return order < 0 }
            return a.offset < b.offset
        }
        var unique: [Entry] = []
        unique.reserveCapacity(entries.count)
        for entry in entries {
            if let last = unique.last, last.key == entry.key, Self.compareEmails(base, last, entry) == 0 {
                unique[unique.count - 1] = entry
                duplicates += 1
            } else {
                unique.append(entry)
            }
        }
        return unique
    }

    private static func compareEmails(_ base: UnsafeRawPointer, _ a: Entry, _ b: Entry) -> Int {
        let prefix = SnapshotLine.emailPrefix.utf8CodeUnitCount
        let common = Int(min(a.emailLength, b.emailLength))
        if common > 8 {
            let order = memcmp(base + a.offset + prefix + 8, base + b.offset + prefix + 8, common - 8)
            if order != 0 { return Int(order) }
        }
        return Int(a.emailLength) - Int(b.emailLength)
    }

    private func writeEntries(_ sorted: [Entry], to writer: ByteFileWriter) throws {
        let base = UnsafeRawPointer(arena.baseAddress!)
        for entry in sorted {
            try writer.write(UnsafeRawBufferPointer(start: base + entry.offset, count: Int(entry.length)))
            try writer.writeByte(0x0A)
        }
    }

    /// Writes the arena as a sorted run and empties it.
    private func spill() throws {
        guard !entries.isEmpty else { return }
        let path = temporaryFolder + String(format: "/run-%06d.ndjson", runPaths.count + 1)
        runPaths.append(path)
        let writer = try ByteFileWriter(path: path, atomic: false)
        try writeEntries(sortedUniqueEntries(), to: writer)
        try writer.commit()
        entries.removeAll(keepingCapacity: true)
        used = 0
    }

    /// Writes every line added, sorted by email, without duplicates, to `path` (atomically).
    public func finish(to path: String) throws -> SnapshotCounts {
        precondition(!finished, "ExternalSorter finished twice")
        finished = true
        let output = try ByteFileWriter(path: path)
        var counts = SnapshotCounts()
        if runPaths.isEmpty {
            let sorted = sortedUniqueEntries()
            try writeEntries(sorted, to: output)
            counts.members = sorted.count
        } else {
            try spill()
            arena.deallocate()
            arena = .allocate(byteCount: 16, alignment: 16)
            entries = []
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
struct SnapshotEncoder {
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
