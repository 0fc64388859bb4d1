import Core
import Foundation

/// The extract's NDJSON path on several cores: the calling thread reads the file in blocks cut at line
/// ends, worker threads parse and encode the blocks into canonical lines, and the calling thread hands
/// the results to the sorter *in block order* — so input order (which decides the winner among
/// duplicate emails), line numbers and the order of rejects are exactly those of a sequential read.
/// At most `window` blocks are in flight, which bounds memory.
extension AudienceSnapshotReader {
    /// One block of input and, once parsed, its output.
    final class ParsedBlock: @unchecked Sendable {
        let input: [UInt8]
        /// Canonical lines, back to back, and their lengths.
        var encoded: [UInt8] = []
        var lengths: [Int] = []
        /// Rejects with line numbers relative to the block (1 = its first line).
        var rejects: [(line: Int, reason: String, email: String?)] = []
        var rows = 0
        var lineCount = 0
        let done = DispatchSemaphore(value: 0)

        init(input: [UInt8]) { self.input = input }
    }

    func parse(_ block: ParsedBlock, encoder: SnapshotEncoder) {
        var scanner = NDJSONRowScanner(reader: self)
        var builder = RowBuilder(options: options)
        block.encoded.reserveCapacity(block.input.count + block.input.count / 4)
        block.input.withUnsafeBytes { bytes in
            var start = 0
            var lineNumber = 0
            while start < bytes.count {
                var end = bytes.count
                if let found = memchr(bytes.baseAddress! + start, 0x0A, bytes.count - start) {
                    end = bytes.baseAddress!.distance(to: UnsafeRawPointer(found))
                }
                lineNumber += 1
                var lineEnd = end
                if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: bytes[start..<lineEnd])
                start = end + 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                block.rows += 1
                switch scanLine(line, scanner: &scanner, builder: &builder) {
                case .success(let row):
                    let before = block.encoded.count
                    encoder.encode(row, into: &block.encoded)
                    block.lengths.append(block.encoded.count - before)
                case .failure(let reason):
                    block.rejects.append((lineNumber, reason.text, reason.email))
                }
            }
            block.lineCount = lineNumber
        }
    }

    /// Reads an NDJSON file (plain or gzip) into `sorter`, calling `reject` in file order.
    func readNDJSONParallel(
        _ path: String, sorter: ExternalSorter, encoder: SnapshotEncoder, reject: (SnapshotReject) throws -> Void,
        workers: Int = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount)), blockSize: Int = 4 << 20
    ) throws -> SnapshotReadCounts {
        let source = try openByteSource(path)
        let queue = DispatchQueue(label: "audience.ndjson", attributes: .concurrent)
        let window = workers * 2
        var pending: [ParsedBlock] = []
        var counts = SnapshotReadCounts()
        var linesBefore = 0

        func consume(_ block: ParsedBlock) throws {
            block.done.wait()
            counts.rows += block.rows
            counts.rejected += block.rejects.count
            for entry in block.rejects {
                try reject(SnapshotReject(line: linesBefore + entry.line, reason: entry.reason, email: entry.email))
            }
            try block.encoded.withUnsafeBytes { bytes in
                var offset = 0
                for length in block.lengths {
                    try sorter.add(line: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
                    offset += length
                }
            }
            linesBefore += block.lineCount
        }

        func submit(_ input: [UInt8]) throws {
            if pending.count >= window { try consume(pending.removeFirst()) }
            let block = ParsedBlock(input: input)
            pending.append(block)
            queue.async {
                self.parse(block, encoder: encoder)
                block.done.signal()
            }
        }

        do {
            // Read blocks; each ends at its last line break, the rest starts the next block.
            var carry: [UInt8] = []
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = try source.read(into: buffer)
                if count == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                guard let lastBreak = chunk.lastIndex(of: 0x0A) else {
                    carry.append(contentsOf: chunk)
                    continue
                }
                var input = carry
                input.append(contentsOf: chunk[0...lastBreak])
                carry = Array(chunk[(lastBreak + 1)...])
                try submit(input)
            }
            if !carry.isEmpty { try submit(carry) }
            while !pending.isEmpty { try consume(pending.removeFirst()) }
        } catch {
            // Let the workers finish before their blocks go away.
            for block in pending { block.done.wait() }
            throw error
        }
        return counts
    }
}
