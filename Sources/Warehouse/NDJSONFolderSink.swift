import Core
import Foundation
import Records

/// The `ndjson` sink: a folder of NDJSON files partitioned by event date,
/// `<folder>/date=2024-03-07/<source>.ndjson`, one file per source file and date.
///
/// - The date is the first 10 characters of `event_captured_dt`, else of `event_stored_dt`; events with
///   neither go to `date=unknown`.
/// - Every file is published atomically (temporary name, fsync, rename).
/// - Idempotent: loading a source again replaces its files (never appends) and removes its files from dates
///   it no longer has. `alreadyPresent` counts the events of partition files that came out byte-identical to
///   the ones already there; `inserted` the others.
/// - Memory: one write buffer (about 1 MB) per distinct date in the file being loaded.
public final class NDJSONFolderSink: EventSink {
    public let folder: String

    public init(folder: String) throws {
        self.folder = folder
        try Files.makeDirectory(folder)
    }

    /// The file name used for a source in every partition: unsafe characters replaced, `.ndjson` added.
    public static func partitionFileName(for sourceName: String) -> String {
        let base = (sourceName as NSString).lastPathComponent
        let stem = base.split(separator: ".", maxSplits: 1).first.map(String.init) ?? base
        let safe = stem.unicodeScalars.map { scalar -> String in
            let allowed =
                ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "-" || scalar == "_"
            return allowed ? String(scalar) : "_"
        }.joined()
        return (safe.isEmpty ? "events" : safe) + ".ndjson"
    }

    public func load(ndjsonFile: String, sourceName: String) throws -> LoadCounts {
        let fileName = NDJSONFolderSink.partitionFileName(for: sourceName)
        let reader = try NDJSONLineReader(path: ndjsonFile)
        var writers: [String: AtomicFileWriter] = [:]
        var lines: [String: Int] = [:]
        do {
            while let line = try reader.nextLine() {
                let partition = "date=" + NDJSONFolderSink.eventDate(line)
                let writer: AtomicFileWriter
                if let existing = writers[partition] {
                    writer = existing
                } else {
                    writer = try AtomicFileWriter(path: folder + "/" + partition + "/" + fileName)
                    writers[partition] = writer
                }
                try writer.write(bytes: line)
                try NDJSONFolderSink.newline.withUnsafeBytes { try writer.write(bytes: $0) }
                lines[partition, default: 0] += 1
            }
        } catch {
            for writer in writers.values { writer.abandon() }
            throw error
        }

        // Publish each partition, comparing with the version it replaces.
        var counts = LoadCounts()
        for partition in writers.keys.sorted() {
            guard let writer = writers[partition] else { continue }
            let previous = try? Files.digest(writer.path).sha256
            let digest: String
            do {
                digest = try writer.commit()
            } catch {
                for other in writers.values where other !== writer { other.abandon() }
                throw error
            }
            writers[partition] = nil
            if digest == previous {
                counts.alreadyPresent += lines[partition] ?? 0
            } else {
                counts.inserted += lines[partition] ?? 0
            }
        }

        // Remove this source's files from partitions it no longer has events in.
        for partition in try Files.list(folder) where partition.hasPrefix("date=") && lines[partition] == nil {
            let stale = folder + "/" + partition + "/" + fileName
            if Files.exists(stale) { try Files.remove(stale) }
        }
        return counts
    }

    private static let newline: [UInt8] = [0x0A]
    private static let capturedKey = Array("\"event_captured_dt\":\"".utf8)
    private static let storedKey = Array("\"event_stored_dt\":\"".utf8)

    /// `YYYY-MM-DD` of the event, or `unknown`. Finds the key in the line's bytes: the transform writes
    /// these keys once per event, unescaped, followed by an ISO 8601 value.
    static func eventDate(_ line: UnsafeRawBufferPointer) -> String {
        for key in [capturedKey, storedKey] {
            guard let found = find(key, in: line) else { continue }
            let start = found + key.count
            guard start + 10 <= line.count else { continue }
            let date = UnsafeRawBufferPointer(rebasing: line[start..<start + 10])
            let shapeIsDate = date.enumerated().allSatisfy { index, byte in
                index == 4 || index == 7 ? byte == UInt8(ascii: "-") : (48...57).contains(byte)
            }
            if shapeIsDate { return String(decoding: date, as: UTF8.self) }
        }
        return "unknown"
    }

    private static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}
