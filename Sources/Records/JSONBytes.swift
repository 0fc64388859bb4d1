import Core

/// A growable byte buffer for writing JSON by hand, fast: a noncopyable value the transform keeps in a local
/// variable (no reference counting, no exclusivity checks in the per-byte loops).
///
/// Strings are escaped exactly like `JSONText.quote` (`\"`, `\\`, `\n`, `\r`, `\t`, other control
/// characters as `\u00xx`; everything else, non-ASCII included, as is). The caller appends valid UTF-8.
/// A record being written can be abandoned with `mark` and `rollback(to:)`.
public struct JSONBytes: ~Copyable {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes held.
    public private(set) var count = 0
    /// For each byte: 0 copy as is, 1 needs an escape.
    private let escapes: UnsafeMutablePointer<UInt8>

    public init(capacity: Int = 1 << 20) {
        self.capacity = max(capacity, 64)
        storage = .allocate(capacity: self.capacity)
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

    /// The bytes held, valid until the next change.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    /// The position to roll back to if the record being written is abandoned.
    public var mark: Int { count }

    public mutating func rollback(to mark: Int) {
        precondition(mark <= count, "JSONBytes rollback beyond the end")
        count = mark
    }

    public mutating func removeAll() { count = 0 }

    @inline(__always)
    mutating func reserve(_ extra: Int) {
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
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(storage + count).copyMemory(from: base, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    public mutating func append(_ base: UnsafePointer<UInt8>, count length: Int) {
        reserve(length)
        (storage + count).update(from: base, count: length)
        count += length
    }

    @inline(__always)
    public mutating func append(byte: UInt8) {
        reserve(1)
        storage[count] = byte
        count += 1
    }

    /// Text as a JSON string literal, quotes included.
    public mutating func appendString(_ text: String) {
        var text = text
        text.withUTF8 { appendString(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// UTF-8 bytes as a JSON string literal, quotes included.
    @inline(__always)
    public mutating func appendString(utf8 bytes: UnsafeRawBufferPointer) {
        let total = bytes.count
        // Worst case: every byte becomes \u00xx.
        reserve(total * 6 + 2)
        var out = storage + count
        out.pointee = 0x22
        out += 1
        if let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            let escapes = self.escapes
            var runStart = 0
            var index = 0
            while index < total {
                let byte = base[index]
                if escapes[Int(byte)] == 0 {
                    index += 1
                    continue
                }
                if index > runStart {
                    out.update(from: base + runStart, count: index - runStart)
                    out += index - runStart
                }
                out[0] = 0x5C
                switch byte {
                case 0x22, 0x5C:
                    out[1] = byte
                    out += 2
                case 0x0A:
                    out[1] = UInt8(ascii: "n")
                    out += 2
                case 0x0D:
                    out[1] = UInt8(ascii: "r")
                    out += 2
                case 0x09:
                    out[1] = UInt8(ascii: "t")
                    out += 2
                default:
                    let hex: StaticString = "0123456789abcdef"
                    out[1] = UInt8(ascii: "u")
                    out[2] = 0x30
                    out[3] = 0x30
                    out[4] = hex.utf8Start[Int(byte >> 4)]
                    out[5] = hex.utf8Start[Int(byte & 0xF)]
                    out += 6
                }
                index += 1
                runStart = index
            }
            if total > runStart {
                out.update(from: base + runStart, count: total - runStart)
                out += total - runStart
            }
        }
        out.pointee = 0x22
        out += 1
        count = out - storage
    }

    /// A decimal integer.
    @inline(__always)
    public mutating func append(integer value: Int) {
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

    /// Appends through a closure that writes at most `maximum` bytes and returns how many it wrote.
    @inline(__always)
    mutating func appendDirect(maximum: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        reserve(maximum)
        count += body(storage + count)
    }
}
