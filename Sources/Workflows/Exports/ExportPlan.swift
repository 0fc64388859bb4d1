import Core
import Foundation

/// `transform/payload/plan.json` as the load stage reads it: the request bodies in send order.
///
/// The plan lists every member's email (record *i* of a response is `emails[i]`), so it is not held in
/// memory: `read` checks every request once and keeps only where its line is (the transform writes one
/// request per line); `request(_:)` reads one request back when it is sent.
struct ExportPlan: Sendable {
    struct Request: Decodable, Sendable {
        var file: String
        var kind: String
        var target: String
        var chunk: Int
        var method: String
        var path: String
        var list: String?
        var pet: String?
        var campaign: String?
        var records: Int
        var emails: [String]
    }

    /// Where one request's line sits in the plan file.
    struct Entry: Sendable {
        var chunk: Int
        var offset: UInt64
        var length: Int
    }

    let path: String
    let entries: [Entry]

    static let payloadFolder = "payload"
    static let planName = "payload/plan.json"

    static func read(from transform: String) throws -> ExportPlan {
        let path = transform + "/" + planName
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ExportError(
                .badPlan, "cannot read the plan \(path)", remedy: "re-run the transform stage with --force")
        }
        defer { try? handle.close() }
        var entries: [Entry] = []
        var pending = Data()
        var lineStart: UInt64 = 0
        var lineNumber = 0
        var closed = false
        func line(_ bytes: Data, at offset: UInt64) throws {
            lineNumber += 1
            var text = bytes
            if text.last == UInt8(ascii: ",") { text.removeLast() }
            if lineNumber == 1 {
                guard text.starts(with: Data("{\"version\":1,".utf8)) else { throw bad("line 1 is not a plan header") }
            } else if text == Data("]}".utf8) {
                closed = true
            } else if closed {
                throw bad("line \(lineNumber) follows the end of the plan")
            } else if text.isEmpty {
                // A plan without requests: the header, an empty line, the end.
                guard entries.isEmpty else { throw bad("line \(lineNumber) is empty") }
            } else {
                let request = try check(text, line: lineNumber)
                entries.append(Entry(chunk: request.chunk, offset: offset, length: text.count))
            }
        }
        func bad(_ what: String, _ underlying: String? = nil) -> ExportError {
            ExportError(
                .badPlan, "the plan \(path) is not a plan written by the transform stage: \(what)",
                underlying: underlying, remedy: "re-run the transform stage with --force")
        }
        func check(_ text: Data, line: Int) throws -> Request {
            do {
                return try decode(text)
            } catch let error as ExportError {
                throw error
            } catch {
                throw bad("line \(line) is not a request", String(describing: error))
            }
        }
        do {
            while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
                pending.append(block)
                var start = pending.startIndex
                while let newline = pending[start...].firstIndex(of: 0x0A) {
                    try line(Data(pending[start..<newline]), at: lineStart)
                    lineStart += UInt64(newline - start + 1)
                    start = newline + 1
                }
                pending.removeSubrange(pending.startIndex..<start)
            }
        } catch let error as ExportError {
            throw error
        } catch {
            throw ExportError(
                .badPlan, "cannot read the plan \(path)", underlying: "\(error.localizedDescription)",
                remedy: "re-run the transform stage with --force")
        }
        guard closed, pending.isEmpty else { throw bad("it ends before its last request") }
        return ExportPlan(path: path, entries: entries)
    }

    /// One request, read back from its line.
    func request(_ entry: Entry) throws -> Request {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ExportError(
                .badPlan, "cannot read the plan \(path)", remedy: "re-run the transform stage with --force")
        }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: entry.offset)
            let text = try handle.read(upToCount: entry.length) ?? Data()
            return try Self.decode(text)
        } catch let error as ExportError {
            throw error
        } catch {
            throw ExportError(
                .badPlan, "the plan \(path) changed while it was loaded", underlying: String(describing: error),
                remedy: "re-run the transform stage with --force")
        }
    }

    private static func decode(_ text: Data) throws -> Request {
        let request = try JSONDecoder().decode(Request.self, from: text)
        if request.records != request.emails.count || request.file.contains("/") || request.file.hasPrefix(".") {
            throw ExportError(.badPlan, "the plan lists a bad request \(request.file)")
        }
        return request
    }

    /// The requests grouped by chunk, chunks in plan order, requests of a chunk in file order.
    var chunks: [[Entry]] {
        var groups: [[Entry]] = []
        var index: [Int: Int] = [:]
        for entry in entries {
            if let position = index[entry.chunk] {
                groups[position].append(entry)
            } else {
                index[entry.chunk] = groups.count
                groups.append([entry])
            }
        }
        return groups
    }
}
