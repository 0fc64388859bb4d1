import Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a CSV file is read.
public struct CSVOptions: Sendable {
    /// The field delimiter byte; nil detects it from the header row (comma, semicolon, tab or pipe,
    /// whichever occurs most outside quotes; comma when none does).
    public var delimiter: UInt8?
    public var encoding: TextEncoding
    /// The size of the read buffer. Rows longer than this make it grow, up to `maximumRowBytes`.
    public var bufferSize: Int
    /// A row longer than this stops the file with `CSVError.rowTooLong` (it bounds memory when a quote
    /// is never closed).
    public var maximumRowBytes: Int

    public init(
        delimiter: UInt8? = nil, encoding: TextEncoding = .utf8, bufferSize: Int = 4 << 20,
        maximumRowBytes: Int = 16 << 20
    ) {
        self.delimiter = delimiter
        self.encoding = encoding
        self.bufferSize = max(bufferSize, 16)
        self.maximumRowBytes = max(maximumRowBytes, self.bufferSize)
    }

    /// The delimiters the reader detects, in the order that breaks ties.
    public static let detectableDelimiters: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), 9, UInt8(ascii: "|")]

    /// A configured delimiter: the character itself (`","`, `";"`, `"|"`, a tab, `"\\t"`) or its name
    /// (`comma`, `semicolon`, `tab`, `pipe`). Nil for anything else.
    public static func delimiter(named name: String) -> UInt8? {
        switch name.lowercased() {
        case ",", "comma": UInt8(ascii: ",")
        case ";", "semicolon": UInt8(ascii: ";")
        case "\t", "\\t", "tab": 9
        case "|", "pipe": UInt8(ascii: "|")
        default: nil
        }
    }
}

/// One row as the reader sees it, borrowed from the reader: its bytes stay valid only until the next call
/// to `nextRow()`. Use `record` (or `fields`) to keep a copy.
public struct CSVRow {
    /// The 1-based line of the file where the row starts (the header is line 1 unless blank lines precede it).
    public let line: Int
    /// The offset of the row's first byte in the file (a byte-order mark counts).
    public let byteOffset: Int64
    /// Set when the row could not be read; its fields are then incomplete and it should be rejected.
    public let problem: CSVRowProblem?
    /// The number of fields.
    public let count: Int
    /// The row exactly as in the file, without its line end, before any transcoding.
    public let rawBytes: UnsafeRawBufferPointer
    let data: UnsafePointer<UInt8>
    let bounds: UnsafePointer<Int>
    let encoding: TextEncoding

    /// The UTF-8 bytes of field `index` (quotes removed, doubled quotes undone, transcoded).
    @inline(__always)
    public func bytes(at index: Int) -> UnsafeRawBufferPointer {
        precondition(index >= 0 && index < count, "CSVRow field index out of range")
        let lower = bounds[index]
        return UnsafeRawBufferPointer(start: data + lower, count: bounds[index + 1] - lower)
    }

    public func string(at index: Int) -> String {
        String(decoding: bytes(at: index), as: UTF8.self)
    }

    public var fields: [String] { (0..<count).map { string(at: $0) } }

    /// The raw row as text: transcoded for the single-byte encodings; invalid UTF-8 shown as U+FFFD.
    public var rawText: String { TextDecoding.string(rawBytes, encoding: encoding) }

    /// An owned copy.
    public var record: CSVRecord {
        CSVRecord(fields: fields, line: line, byteOffset: byteOffset, raw: rawText, problem: problem)
    }
}

/// An owned row, for callers that keep rows (slower than `CSVRow`: one `String` per field).
public struct CSVRecord: Sendable, Equatable {
    public var fields: [String]
    public var line: Int
    public var byteOffset: Int64
    public var raw: String
    public var problem: CSVRowProblem?

    public init(fields: [String], line: Int, byteOffset: Int64, raw: String, problem: CSVRowProblem? = nil) {
        self.fields = fields
        self.line = line
        self.byteOffset = byteOffset
        self.raw = raw
        self.problem = problem
    }
}

enum TextDecoding {
    static func string(_ bytes: UnsafeRawBufferPointer, encoding: TextEncoding) -> String {
        switch encoding {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .windows1252, .latin1:
            var scalars = String.UnicodeScalarView()
            for byte in bytes {
                let value =
                    encoding == .windows1252 && byte >= 0x80 && byte < 0xA0
                    ? UInt32(TextEncoding.windows1252High[Int(byte) - 0x80]) : UInt32(byte)
                scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            }
            return String(scalars)
        }
    }
}

/// A streaming reader of delimited text (RFC 4180 and the variations found in practice).
///
/// - Reads the file in large blocks through one buffer; memory stays bounded by the buffer and the
///   longest row, whatever the file size.
/// - Quoted fields may hold delimiters, CR, LF and doubled quotes. A quote inside an unquoted field is kept
///   as a character. Text after a closing quote (`"ab"c`, a stray quote in `"c-"6"`) makes the row a problem
///   row (`textAfterClosingQuote`); the row still ends at its line end, so the rows after it are read as usual.
/// - Line ends: LF, CRLF and CR. Blank lines are skipped (they still count in line numbers, and in
///   `blankLines`).
/// - A UTF-8 byte-order mark at the start is skipped.
/// - The first non-blank row is the header, read when the reader is created (`header`).
///
/// ```swift
/// let reader = try CSVReader(path: "events.txt")
/// while let row = try reader.nextRow() {
///     if let problem = row.problem { reject(row.line, problem.reason, row.rawText); continue }
///     use(row.string(at: 0))
/// }
/// ```
public final class CSVReader {
    /// The path or name given at creation, for messages.
    public let name: String
    public let encoding: TextEncoding
    /// The delimiter in use (configured or detected).
    public private(set) var delimiter: UInt8 = UInt8(ascii: ",")
    public private(set) var header = CSVHeader([])
    /// The line where the header row starts.
    public private(set) var headerLine = 1

    private let fd: Int32
    private let ownsDescriptor: Bool
    private let maximumRowBytes: Int

    // The read buffer: bytes start..<end are read but not consumed; buffer[0] is at `bufferFileOffset`.
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEndOfFile = false
    private var bufferFileOffset: Int64 = 0
    /// The line number of `buffer[start]`.
    /// The 1-based line the reader has reached (where the next row starts, or where a failed row started).
    public private(set) var line = 1
    /// The blank lines skipped so far (before the header too); they hold no data, but are counted.
    public private(set) var blankLines = 0

    /// The fields of the current row.
    private var store: FieldStore

    /// special[byte] != 0 for the bytes that end an unquoted field: the delimiter, CR and LF.
    private let special: UnsafeMutablePointer<UInt8>
    /// UTF-8 of bytes 0x80…0xFF for the single-byte encodings; nil for UTF-8.
    private let transcoding: UnsafeMutablePointer<UInt32>?

    private enum Outcome { case row, needMore, endOfInput }
    private var rowLine = 0
    private var rowStart = 0
    private var rowEnd = 0
    private var rowProblem: CSVRowProblem?

    /// Opens `path` and reads its header.
    public convenience init(path: String, options: CSVOptions = CSVOptions()) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let number = errno
            throw CSVError(
                .cannotOpen, "cannot open \(path)", underlying: systemErrorText(number),
                remedy: number == ENOENT ? "check the path" : nil)
        }
        try self.init(fileDescriptor: fd, name: path, options: options, ownsDescriptor: true)
    }

    /// Reads from an open descriptor (a file or a pipe), and reads its header. With `ownsDescriptor`, the
    /// reader closes it when it is released, also when this initializer throws.
    public init(fileDescriptor: Int32, name: String, options: CSVOptions = CSVOptions(), ownsDescriptor: Bool = false)
        throws
    {
        self.fd = fileDescriptor
        self.ownsDescriptor = ownsDescriptor
        self.name = name
        self.encoding = options.encoding
        self.maximumRowBytes = options.maximumRowBytes
        capacity = options.bufferSize
        buffer = .allocate(capacity: capacity)
        special = .allocate(capacity: 256)
        special.initialize(repeating: 0, count: 256)
        if options.encoding == .utf8 {
            transcoding = nil
        } else {
            let table = UnsafeMutablePointer<UInt32>.allocate(capacity: 128)
            table.initialize(from: TextEncoding.transcodingTable(for: options.encoding), count: 128)
            transcoding = table
        }
        store = FieldStore(transcoding: transcoding)
        #if os(Linux)
            posix_fadvise(fileDescriptor, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif

        try skipByteOrderMark()
        delimiter = try options.delimiter ?? detectDelimiter()
        special[Int(delimiter)] = 1
        special[10] = 1
        special[13] = 1
        try readHeader()
    }

    deinit {
        buffer.deallocate()
        store.deallocate()
        special.deallocate()
        transcoding?.deallocate()
        if ownsDescriptor { close(fd) }
    }

    /// The next data row, or nil at the end of the file. The row is valid until the next call.
    public func nextRow() throws -> CSVRow? {
        while true {
            switch parse() {
            case .row:
                return CSVRow(
                    line: rowLine, byteOffset: bufferFileOffset + Int64(rowStart), problem: rowProblem,
                    count: store.fieldCount,
                    rawBytes: UnsafeRawBufferPointer(start: buffer + rowStart, count: rowEnd - rowStart),
                    data: store.data, bounds: store.bounds, encoding: encoding)
            case .endOfInput:
                return nil
            case .needMore:
                try fill()
            }
        }
    }

    /// The next data row as an owned record, or nil at the end of the file.
    public func next() throws -> CSVRecord? {
        try nextRow()?.record
    }

    // MARK: Reading blocks

    /// Moves the unconsumed bytes to the front, grows the buffer when they fill it, and reads one block.
    private func fill() throws {
        precondition(!atEndOfFile, "CSVReader asked for more input after the end of the file")
        if start > 0 {
            if end > start { memmove(buffer, buffer + start, end - start) }
            bufferFileOffset += Int64(start)
            end -= start
            start = 0
        }
        if end == capacity {
            guard capacity < maximumRowBytes else {
                throw CSVError(
                    .rowTooLong, "\(name): the row starting at line \(line) is longer than \(maximumRowBytes) bytes",
                    remedy: "a quote that is never closed makes the rest of the file one field; check the quoting there"
                )
            }
            let grown = min(capacity * 2, maximumRowBytes)
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity = grown
        }
        while true {
            let count = read(fd, buffer + end, capacity - end)
            if count < 0 {
                if errno == EINTR { continue }
                throw CSVError(.cannotRead, "cannot read \(name)", underlying: systemErrorText(errno))
            }
            if count == 0 { atEndOfFile = true }
            end += count
            return
        }
    }

    /// Ensures at least `count` unconsumed bytes are buffered, or the file has ended.
    private func ensureBuffered(_ count: Int) throws {
        while end - start < count && !atEndOfFile { try fill() }
    }

    private func skipByteOrderMark() throws {
        try ensureBuffered(3)
        if end - start >= 3 && buffer[start] == 0xEF && buffer[start + 1] == 0xBB && buffer[start + 2] == 0xBF {
            start += 3
        }
    }

    /// Counts the candidate delimiters outside quotes on the first non-blank line.
    private func detectDelimiter() throws -> UInt8 {
        while true {
            var p = start
            while p < end && (buffer[p] == 10 || buffer[p] == 13) { p += 1 }
            var counts = [Int](repeating: 0, count: 256)
            var quoted = false
            var complete = false
            while p < end {
                let byte = buffer[p]
                if byte == 34 {
                    quoted.toggle()
                } else if !quoted && (byte == 10 || byte == 13) {
                    complete = true
                    break
                } else if !quoted {
                    counts[Int(byte)] += 1
                }
                p += 1
            }
            if complete || atEndOfFile {
                var best = CSVOptions.detectableDelimiters[0]
                for candidate in CSVOptions.detectableDelimiters where counts[Int(candidate)] > counts[Int(best)] {
                    best = candidate
                }
                return best
            }
            try fill()
        }
    }

    private func readHeader() throws {
        guard let row = try nextRow() else {
            throw CSVError(
                .missingHeader, "\(name) has no header row", remedy: "the file is empty; a header row is required")
        }
        if let problem = row.problem {
            throw CSVError(.badHeader, "\(name): the header row at line \(row.line) cannot be read: \(problem.reason)")
        }
        headerLine = row.line
        header = CSVHeader(row.fields)
    }

    // MARK: Parsing

    /// Parses one row from `start`. Returns `.needMore` when the buffered bytes end inside the row and the
    /// file has not ended; the row is then parsed again from its start once more bytes are in.
    private func parse() -> Outcome {
        let buffer = self.buffer
        let end = self.end
        let atEnd = atEndOfFile
        let special = self.special
        let delimiter = self.delimiter
        let lineFeed: UInt8 = 10
        let carriageReturn: UInt8 = 13
        let quote: UInt8 = 34
        var p = start
        var lineNumber = line

        // Blank lines before the row.
        while p < end {
            let byte = buffer[p]
            if byte == lineFeed {
                p += 1
            } else if byte == carriageReturn {
                if p + 1 < end {
                    p += buffer[p + 1] == lineFeed ? 2 : 1
                } else if atEnd {
                    p += 1
                } else {
                    break
                }
            } else {
                break
            }
            lineNumber += 1
            blankLines += 1
        }
        start = p
        line = lineNumber
        if p == end { return atEnd ? .endOfInput : .needMore }
        if buffer[p] == carriageReturn { return .needMore }

        let first = p
        var rawEnd = p
        var problem: CSVRowProblem?
        // The field store is worked on as a local value (no exclusivity checks per byte), then put back.
        var store = self.store
        defer { self.store = store }
        store.startRow()
        fields: while true {
            if p < end && buffer[p] == quote {
                p += 1
                quoted: while true {
                    var q = p
                    while q < end {
                        let byte = buffer[q]
                        if byte == quote { break }
                        if byte == lineFeed {
                            lineNumber += 1
                        } else if byte == carriageReturn && (q + 1 == end || buffer[q + 1] != lineFeed) {
                            lineNumber += 1
                        }
                        q += 1
                    }
                    store.append(buffer + p, q - p)
                    if q == end {
                        if !atEnd { return .needMore }
                        problem = .unterminatedQuote
                        p = end
                        break quoted
                    }
                    if q + 1 == end && !atEnd { return .needMore }
                    if q + 1 < end && buffer[q + 1] == quote {
                        store.appendByte(quote)
                        p = q + 2
                        continue quoted
                    }
                    p = q + 1
                    if problem == nil && p < end && special[Int(buffer[p])] == 0 {
                        problem = .textAfterClosingQuote(field: store.fieldCount + 1)
                    }
                    break quoted
                }
            }
            // The unquoted field, or what follows a closing quote.
            var q = p
            while q < end && special[Int(buffer[q])] == 0 { q += 1 }
            store.append(buffer + p, q - p)
            p = q
            store.endField()
            if p == end {
                if !atEnd { return .needMore }
                rawEnd = end
                break fields
            }
            let byte = buffer[p]
            if byte == delimiter {
                p += 1
                continue fields
            }
            rawEnd = p
            if byte == lineFeed {
                p += 1
            } else if p + 1 < end {
                p += buffer[p + 1] == lineFeed ? 2 : 1
            } else if atEnd {
                p += 1
            } else {
                return .needMore
            }
            lineNumber += 1
            break fields
        }

        rowLine = line
        rowStart = first
        rowEnd = rawEnd
        if problem == nil && transcoding == nil,
            let bad = UTF8Validation.firstInvalidByte(
                UnsafeRawBufferPointer(start: buffer + first, count: rawEnd - first))
        {
            problem = .invalidUTF8(byteOffset: bufferFileOffset + Int64(first + bad))
        }
        rowProblem = problem
        start = p
        line = lineNumber
        return .row
    }
}

/// The fields of the row being parsed: field i is data[bounds[i]..<bounds[i + 1]]. A plain value with raw
/// pointers, freed by its owner (`CSVReader.deinit`).
private struct FieldStore {
    var data: UnsafeMutablePointer<UInt8>
    var dataCapacity = 64 << 10
    var dataCount = 0
    var bounds: UnsafeMutablePointer<Int>
    var boundsCapacity = 256
    var fieldCount = 0
    let transcoding: UnsafeMutablePointer<UInt32>?

    init(transcoding: UnsafeMutablePointer<UInt32>?) {
        self.transcoding = transcoding
        data = .allocate(capacity: dataCapacity)
        bounds = .allocate(capacity: boundsCapacity)
        bounds[0] = 0
    }

    func deallocate() {
        data.deallocate()
        bounds.deallocate()
    }

    @inline(__always)
    mutating func startRow() {
        dataCount = 0
        fieldCount = 0
        bounds[0] = 0
    }

    @inline(__always)
    mutating func reserveData(_ extra: Int) {
        guard dataCount + extra > dataCapacity else { return }
        var grown = dataCapacity * 2
        while dataCount + extra > grown { grown *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        bigger.update(from: data, count: dataCount)
        data.deallocate()
        data = bigger
        dataCapacity = grown
    }

    @inline(__always)
    mutating func append(_ source: UnsafeMutablePointer<UInt8>, _ count: Int) {
        guard count > 0 else { return }
        if let transcoding {
            reserveData(count * 3)
            var out = data + dataCount
            for index in 0..<count {
                let byte = source[index]
                if byte < 0x80 {
                    out.pointee = byte
                    out += 1
                } else {
                    let packed = transcoding[Int(byte) - 0x80]
                    let length = Int(packed >> 24)
                    out[0] = UInt8(truncatingIfNeeded: packed)
                    out[1] = UInt8(truncatingIfNeeded: packed >> 8)
                    if length == 3 { out[2] = UInt8(truncatingIfNeeded: packed >> 16) }
                    out += length
                }
            }
            dataCount = out - data
        } else {
            reserveData(count)
            (data + dataCount).update(from: source, count: count)
            dataCount += count
        }
    }

    @inline(__always)
    mutating func appendByte(_ byte: UInt8) {
        reserveData(1)
        data[dataCount] = byte
        dataCount += 1
    }

    @inline(__always)
    mutating func endField() {
        fieldCount += 1
        if fieldCount + 1 >= boundsCapacity {
            let grown = boundsCapacity * 2
            let bigger = UnsafeMutablePointer<Int>.allocate(capacity: grown)
            bigger.update(from: bounds, count: fieldCount)
            bounds.deallocate()
            bounds = bigger
            boundsCapacity = grown
        }
        bounds[fieldCount] = dataCount
    }
}
