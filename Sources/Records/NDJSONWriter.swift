import Core

/// Writes newline-delimited JSON by hand into a large byte buffer, flushed to a `ByteOutput`
/// (`AtomicFileWriter` or `DigestingFileWriter`).
///
/// Strings are escaped exactly like `JSONText.quote` (`\"`, `\\`, `\n`, `\r`, `\t`, other control
/// characters as `\u00xx`; everything else, non-ASCII included, as is). The caller must append valid UTF-8.
/// A record being written can be abandoned with `mark` and `rollback(to:)`; only whole records are flushed.
public final class NDJSONWriter {
    public let file: any ByteOutput
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes buffered and not yet handed to `file`.
    public private(set) var count = 0
    private let flushThreshold: Int
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)
    /// For each byte: 0 copy as is, 1 needs an escape.
    private let escapes: UnsafeMutablePointer<UInt8>

    public init(file: any ByteOutput, bufferSize: Int = 1 << 20) {
        self.file = file
        flushThreshold = max(bufferSize, 64)
        capacity = flushThreshold + 64 << 10
        storage = .allocate(capacity: capacity)
        escapes = .allocate(capacity: 256)
        escapes.initialize(repeating: 0, count: 256)
        for byte in 0..<0x20 { escapes[byte] = 1 }
        escapes[0x22] = 1
        escapes[0x5C] = 1
    }

    deinit {
        storage.deallocate()
        escapes.deallocate()
    }

    /// The position to roll back to if the record being written is abandoned.
    public var mark: Int { count }

    public func rollback(to mark: Int) {
        precondition(mark <= count, "NDJSONWriter rollback beyond the buffer")
        count = mark
    }

    @inline(__always)
    func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        var grown = capacity * 2
        while count + extra > grown { grown *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        bigger.update(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity = grown
    }

    @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(storage + count).copyMemory(from: base, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    @inline(__always)
    public func append(byte: UInt8) {
        reserve(1)
        storage[count] = byte
        count += 1
    }

    /// Text as a JSON string literal, quotes included.
    public func appendString(_ text: String) {
        var text = text
        text.withUTF8 { appendString(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// UTF-8 bytes as a JSON string literal, quotes included.
    @inline(__always)
    public func appendString(utf8 bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count + 2)
        storage[count] = 0x22
        count += 1
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            storage[count] = 0x22
            count += 1
            return
        }
        let total = bytes.count
        var runStart = 0
        var index = 0
        let escapes = self.escapes
        while index < total {
            let byte = base[index]
            if escapes[Int(byte)] == 0 {
                index += 1
                continue
            }
            if index > runStart {
                reserve(index - runStart + 8)
                (storage + count).update(from: base + runStart, count: index - runStart)
                count += index - runStart
            }
            reserve(8)
            switch byte {
            case 0x22: appendPair(0x22)
            case 0x5C: appendPair(0x5C)
            case 0x0A: appendPair(UInt8(ascii: "n"))
            case 0x0D: appendPair(UInt8(ascii: "r"))
            case 0x09: appendPair(UInt8(ascii: "t"))
            default:
                storage[count] = 0x5C
                storage[count + 1] = UInt8(ascii: "u")
                storage[count + 2] = 0x30
                storage[count + 3] = 0x30
                storage[count + 4] = NDJSONWriter.hex[Int(byte >> 4)]
                storage[count + 5] = NDJSONWriter.hex[Int(byte & 0xF)]
                count += 6
            }
            index += 1
            runStart = index
        }
        reserve(total - runStart + 1)
        if total > runStart {
            (storage + count).update(from: base + runStart, count: total - runStart)
            count += total - runStart
        }
        storage[count] = 0x22
        count += 1
    }

    @inline(__always)
    private func appendPair(_ second: UInt8) {
        storage[count] = 0x5C
        storage[count + 1] = second
        count += 2
    }

    /// A decimal integer.
    @inline(__always)
    public func append(integer value: Int) {
        reserve(21)
        if value == 0 {
            storage[count] = 0x30
            count += 1
            return
        }
        var magnitude = value.magnitude
        if value < 0 {
            storage[count] = UInt8(ascii: "-")
            count += 1
        }
        var digits = 0
        var probe = magnitude
        while probe > 0 {
            digits += 1
            probe /= 10
        }
        var position = count + digits - 1
        while magnitude > 0 {
            storage[position] = UInt8(48 + magnitude % 10)
            magnitude /= 10
            position -= 1
        }
        count += digits
    }

    /// Appends bytes through a closure that writes at most `maximum` bytes and returns how many it wrote.
    @inline(__always)
    func appendDirect(maximum: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(maximum)
        count += body(storage + count)
    }

    /// Ends a record with a line feed; hands the buffer to the file when it is large.
    @inline(__always)
    public func endRecord() throws {
        append(byte: 0x0A)
        if count >= flushThreshold { try flush() }
    }

    /// Hands every buffered byte to the file (it still has to be committed).
    public func flush() throws {
        guard count > 0 else { return }
        try file.write(bytes: UnsafeRawBufferPointer(start: storage, count: count))
        count = 0
    }
}
