import Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a newline-delimited file one line at a time through one large buffer (for the sinks).
/// Empty lines are skipped; a final line without a line feed is still a line; CR before LF is dropped.
public final class NDJSONLineReader {
    public let path: String
    private let fd: Int32
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEndOfFile = false
    private let maximumLineBytes: Int
    /// The 1-based number of the line last returned.
    public private(set) var lineNumber = 0

    public init(path: String, bufferSize: Int = 1 << 20, maximumLineBytes: Int = 64 << 20) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let number = errno
            throw ETLError(
                number == ENOENT ? .notFound : .io, "cannot open \(path)", underlying: systemErrorText(number))
        }
        capacity = max(bufferSize, 16)
        buffer = .allocate(capacity: capacity)
        self.maximumLineBytes = maximumLineBytes
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// Calls `body` with each non-empty line (without its line end), valid only during the call.
    public func forEachLine(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while let line = try nextLine() { try body(line) }
    }

    /// The next non-empty line, valid until the next call; nil at the end of the file.
    public func nextLine() throws -> UnsafeRawBufferPointer? {
        while true {
            if let newline = memchr(buffer + start, 0x0A, end - start) {
                let position = newline.assumingMemoryBound(to: UInt8.self) - buffer
                let lineStart = start
                var lineEnd = position
                start = position + 1
                lineNumber += 1
                if lineEnd > lineStart && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                if lineEnd == lineStart { continue }
                return UnsafeRawBufferPointer(start: buffer + lineStart, count: lineEnd - lineStart)
            }
            if atEndOfFile {
                guard end > start else { return nil }
                let line = UnsafeRawBufferPointer(start: buffer + start, count: end - start)
                start = end
                lineNumber += 1
                return line
            }
            try fill()
        }
    }

    private func fill() throws {
        if start > 0 {
            if end > start { memmove(buffer, buffer + start, end - start) }
            end -= start
            start = 0
        }
        if end == capacity {
            guard capacity < maximumLineBytes else {
                throw ETLError(.io, "\(path): line \(lineNumber + 1) is longer than \(maximumLineBytes) bytes")
            }
            let grown = min(capacity * 2, maximumLineBytes)
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
                throw ETLError(.io, "cannot read \(path)", underlying: systemErrorText(errno))
            }
            if count == 0 { atEndOfFile = true }
            end += count
            return
        }
    }
}
