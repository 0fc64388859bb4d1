import Core

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Options of the transform stage of `import-events`.
public struct TransformOptions: Sendable {
    /// The delimiter; nil detects it from the header.
    public var delimiter: UInt8?
    public var encoding: TextEncoding
    /// The offset from UTC of the times in the files, in seconds (`source_timezone`); 0 for UTC.
    public var sourceTimeZoneOffsetSeconds: Int
    /// The `stream` value of every event.
    public var stream: String

    public init(
        delimiter: UInt8? = nil, encoding: TextEncoding = .utf8, sourceTimeZoneOffsetSeconds: Int = 0,
        stream: String = "responsys_events"
    ) {
        self.delimiter = delimiter
        self.encoding = encoding
        self.sourceTimeZoneOffsetSeconds = sourceTimeZoneOffsetSeconds
        self.stream = stream
    }
}

/// Turns the rows of one Responsys event file into JSON events, one object per line:
///
/// ```
/// {"stream":"responsys_events","event_type":"CLICK","channel":"EMAIL","account_id":1234,
///  "event_type_id":2,"list_id":55501,"riid":70012345,"event_captured_dt":"2024-03-07T05:58:31Z",…,
///  "_source_file":"1234_CLICK_20240307_060001.txt","_line":2,"_event_id":"5f0c…"}
/// ```
///
/// - Keys: the column names in snake_case (`EVENT_CAPTURED_DT` → `event_captured_dt`,
///   `OfferURL` → `offer_url`); a name that collides with another or with a key added here gets
///   `_<position>` (reported in `renames`).
/// - `event_type`, `channel`, `account_id` come from the file name; a non-empty `ACCOUNT_ID` column must
///   match the file name's account, or the row is rejected.
/// - Responsys timestamps (`07-Mar-2024 14:05:09`, month in any case) become ISO 8601 UTC with `Z`, shifted
///   by `sourceTimeZoneOffsetSeconds`; anything else in a timestamp column rejects the row.
/// - The known numeric columns are JSON numbers; anything else there rejects the row.
/// - Empty values are omitted; so is the literal `null` in a numeric or timestamp column.
/// - Unknown columns are kept as strings.
/// - `_event_id` is the first 128 bits, in hex, of SHA-256 over: the source file name (UTF-8), a 0x00 byte,
///   the decimal line number, a 0x00 byte, and the row's raw bytes as in the file (without its line end).
///   The same row of the same file always gets the same id.
public final class EventNormalizer {
    enum Kind { case text, integer, decimal, timestamp, accountID }

    /// Columns typed as whole numbers (by snake_case key).
    public static let integerKeys: Set<String> = [
        "event_type_id", "account_id", "list_id", "riid", "campaign_id", "launch_id", "program_id", "offer_number",
        "message_size", "order_quantity",
    ]
    /// Columns typed as decimal numbers.
    public static let decimalKeys: Set<String> = ["order_total"]
    /// Columns holding Responsys timestamps.
    public static let timestampKeys: Set<String> = [
        "event_captured_dt", "event_stored_dt", "complaint_dt", "launch_started_dt", "launch_completed_dt",
    ]
    /// Every Responsys event file names at least one of these columns in its header (reference §7: the
    /// prefix of the email feeds, the Launch State columns, what the other channels add). Other columns are
    /// welcome beside them.
    public static let identifyingKeys: Set<String> = [
        "event_type_id", "account_id", "list_id", "riid", "customer_id", "event_captured_dt", "event_stored_dt",
        "campaign_id", "launch_id", "event_uuid", "program_id",
    ]
    /// Keys added to every event; a column may not take them.
    public static let addedKeys: Set<String> = [
        "stream", "event_type", "channel", "_source_file", "_line", "_event_id",
    ]

    public let fileName: EventFileName
    public let sourceName: String
    /// The JSON key of each column.
    public let keys: [String]
    /// Columns renamed by the reader's header rules or here.
    public let renames: [CSVHeader.Rename]

    // Per-column tables as raw memory: the per-row loop then touches no reference-counted storage.
    private let columnCount: Int
    private let kinds: UnsafeMutablePointer<Kind>
    /// `,"key":` of column i is keyBytes[keyStarts[i]..<keyStarts[i + 1]].
    private let keyBytes: UnsafeMutablePointer<UInt8>
    private let keyStarts: UnsafeMutablePointer<Int>
    private let prefix: UnsafeMutableBufferPointer<UInt8>
    private let provenance: UnsafeMutableBufferPointer<UInt8>
    private let eventIDKey: UnsafeMutableBufferPointer<UInt8>
    private let offset: Int
    /// The last event id's SHA-256, reused for every row.
    private let digest = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
    private var idInput: UnsafeMutablePointer<UInt8>
    private var idInputCapacity: Int
    private let sourceBytes: UnsafeMutableBufferPointer<UInt8>

    public init(fileName: EventFileName, sourceName: String, header: CSVHeader, options: TransformOptions) throws {
        self.fileName = fileName
        self.sourceName = sourceName
        offset = options.sourceTimeZoneOffsetSeconds
        let snake = header.names.map(EventNormalizer.snakeCase)
        let unique = CSVHeader.uniqueNames(snake, reserved: EventNormalizer.addedKeys)
        keys = unique.names
        var renames = header.renames
        for rename in unique.renames {
            let original = header.originalNames[rename.position - 1]
            if let index = renames.firstIndex(where: { $0.position == rename.position }) {
                renames[index].name = rename.name
            } else {
                renames.append(CSVHeader.Rename(position: rename.position, original: original, name: rename.name))
            }
        }
        self.renames = renames.sorted { $0.position < $1.position }
        var sawAccount = false
        let kindList = keys.map { key -> Kind in
            if key == "account_id" && !sawAccount {
                sawAccount = true
                return .accountID
            }
            if EventNormalizer.integerKeys.contains(key) { return .integer }
            if EventNormalizer.decimalKeys.contains(key) { return .decimal }
            if EventNormalizer.timestampKeys.contains(key) { return .timestamp }
            return .text
        }
        columnCount = kindList.count
        kinds = .allocate(capacity: max(columnCount, 1))
        kinds.initialize(from: kindList, count: columnCount)
        let prefixes = keys.map { Array(("," + JSONText.quote($0) + ":").utf8) }
        keyBytes = .allocate(capacity: max(prefixes.reduce(0) { $0 + $1.count }, 1))
        keyStarts = .allocate(capacity: columnCount + 1)
        var position = 0
        for (index, bytes) in prefixes.enumerated() {
            keyStarts[index] = position
            (keyBytes + position).initialize(from: bytes, count: bytes.count)
            position += bytes.count
        }
        keyStarts[columnCount] = position
        func copy(_ text: String) -> UnsafeMutableBufferPointer<UInt8> {
            let bytes = Array(text.utf8)
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
            _ = buffer.initialize(from: bytes)
            return UnsafeMutableBufferPointer(rebasing: buffer[0..<bytes.count])
        }
        prefix = copy(
            "{\"stream\":" + JSONText.quote(options.stream) + ",\"event_type\":" + JSONText.quote(fileName.eventType)
                + ",\"channel\":" + JSONText.quote(fileName.channel) + ",\"account_id\":" + String(fileName.account))
        provenance = copy(",\"_source_file\":" + JSONText.quote(sourceName) + ",\"_line\":")
        eventIDKey = copy(",\"_event_id\":\"")
        sourceBytes = copy(sourceName)
        idInputCapacity = 4096
        idInput = .allocate(capacity: idInputCapacity)
    }

    deinit {
        idInput.deallocate()
        digest.deallocate()
        kinds.deallocate()
        keyBytes.deallocate()
        keyStarts.deallocate()
        for buffer in [prefix, provenance, eventIDKey, sourceBytes] { buffer.baseAddress?.deallocate() }
    }

    @inline(__always)
    private func appendKey(_ index: Int, to output: inout JSONBytes) {
        output.append(keyBytes + keyStarts[index], count: keyStarts[index + 1] - keyStarts[index])
    }

    /// Appends the event of `row` to `output` (without the final line feed), or returns why the row is
    /// rejected and appends nothing.
    public func append(_ row: CSVRow, to output: inout JSONBytes) -> String? {
        if let problem = row.problem { return problem.reason }
        guard row.count == columnCount else {
            return "the row has \(row.count) field\(row.count == 1 ? "" : "s"), the header has \(columnCount)"
        }
        let mark = output.mark
        output.append(UnsafeRawBufferPointer(prefix))
        for index in 0..<columnCount {
            let field = row.bytes(at: index)
            if field.isEmpty { continue }
            switch kinds[index] {
            case .text:
                // A NUL byte is damage, not data, and SQLite's text functions stop at it: the column would
                // silently disagree with the payload. (memchr: this runs for every field of every row.)
                if memchr(field.baseAddress!, 0, field.count) != nil {
                    output.rollback(to: mark)
                    return "column \(keys[index]) contains a NUL byte (0x00), which is not text"
                }
                appendKey(index, to: &output)
                output.appendString(utf8: field)
            case .integer, .decimal:
                if EventNormalizer.isNull(field) { continue }
                appendKey(index, to: &output)
                if !EventNormalizer.appendNumber(field, decimal: kinds[index] == .decimal, to: &output) {
                    output.rollback(to: mark)
                    if kinds[index] == .integer && EventNormalizer.isWholeNumberText(field) {
                        return "column \(keys[index]): \(EventNormalizer.shown(field)) is a whole number too large "
                            + "for 64 bits"
                    }
                    return "column \(keys[index]): \(EventNormalizer.shown(field)) is not a "
                        + (kinds[index] == .decimal ? "number" : "whole number")
                }
            case .timestamp:
                if EventNormalizer.isNull(field) { continue }
                appendKey(index, to: &output)
                let offset = self.offset
                var valid = true
                output.appendDirect(maximum: 22) { out in
                    guard let written = EventNormalizer.writeTimestamp(field, offset: offset, to: out) else {
                        valid = false
                        return 0
                    }
                    return written
                }
                if !valid {
                    output.rollback(to: mark)
                    return "column \(keys[index]): \(EventNormalizer.shown(field)) is not a Responsys timestamp "
                        + "(DD-Mon-YYYY HH:MM:SS)"
                }
            case .accountID:
                if EventNormalizer.isNull(field) { continue }
                guard let value = EventNormalizer.integer(field), value == fileName.account else {
                    output.rollback(to: mark)
                    return "column account_id: \(EventNormalizer.shown(field)) does not match the account "
                        + "\(fileName.account) of the file name"
                }
            }
        }
        output.append(UnsafeRawBufferPointer(provenance))
        output.append(integer: row.line)
        output.append(UnsafeRawBufferPointer(eventIDKey))
        writeEventID(row)
        output.appendDirect(maximum: 34) { out in
            let hex: StaticString = "0123456789abcdef"
            let digits = hex.utf8Start
            for index in 0..<16 {
                out[2 * index] = digits[Int(digest[index] >> 4)]
                out[2 * index + 1] = digits[Int(digest[index] & 0xF)]
            }
            out[32] = 0x22
            out[33] = 0x7D
            return 34
        }
        return nil
    }

    /// The event id of a row (32 lowercase hex digits); see the type's documentation for the recipe.
    public func eventID(of row: CSVRow) -> String {
        writeEventID(row)
        return SHA256.hex(digest, count: 16)
    }

    private func writeEventID(_ row: CSVRow) {
        let needed = sourceBytes.count + 2 + 20 + row.rawBytes.count
        if needed > idInputCapacity {
            idInput.deallocate()
            idInputCapacity = max(needed, idInputCapacity * 2)
            idInput = .allocate(capacity: idInputCapacity)
        }
        var position = 0
        if let base = sourceBytes.baseAddress { (idInput + position).update(from: base, count: sourceBytes.count) }
        position += sourceBytes.count
        idInput[position] = 0
        position += 1
        var digits = 0
        var probe = row.line
        repeat {
            digits += 1
            probe /= 10
        } while probe > 0
        var value = row.line
        for index in stride(from: digits - 1, through: 0, by: -1) {
            idInput[position + index] = UInt8(48 + value % 10)
            value /= 10
        }
        position += digits
        idInput[position] = 0
        position += 1
        if let base = row.rawBytes.baseAddress, row.rawBytes.count > 0 {
            UnsafeMutableRawPointer(idInput + position).copyMemory(from: base, byteCount: row.rawBytes.count)
            position += row.rawBytes.count
        }
        SHA256.digest(of: UnsafeRawBufferPointer(start: idInput, count: position), into: digest)
    }

    // MARK: Values

    /// A field value for a reject reason: quoted, at most 60 characters.
    static func shown(_ field: UnsafeRawBufferPointer) -> String {
        let text = String(decoding: field, as: UTF8.self)
        return JSONText.quote(text.count > 60 ? String(text.prefix(60)) + "…" : text)
    }

    @inline(__always)
    static func isNull(_ field: UnsafeRawBufferPointer) -> Bool {
        guard field.count == 4 else { return false }
        return (field[0] | 0x20) == 0x6E && (field[1] | 0x20) == 0x75 && (field[2] | 0x20) == 0x6C
            && (field[3] | 0x20) == 0x6C
    }

    /// The value of a whole number field (`-?[0-9]{1,18}`, spaces around allowed), or nil.
    static func integer(_ field: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        var end = field.count
        while index < end && field[index] == 0x20 { index += 1 }
        while end > index && field[end - 1] == 0x20 { end -= 1 }
        var negative = false
        if index < end && field[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard end > index && end - index <= 18 else { return nil }
        var value: Int64 = 0
        while index < end {
            let digit = field[index] &- 48
            guard digit < 10 else { return nil }
            value = value * 10 + Int64(digit)
            index += 1
        }
        return negative ? -value : value
    }

    /// Appends a numeric field as a JSON number (leading zeros dropped; `decimal` allows one `.` fraction).
    /// Returns false, having appended nothing useful, when the field is not such a number.
    @inline(__always)
    /// Whether the decimal digits `digits` of `field` (no leading zeros) fit a 64-bit signed integer.
    static func fitsInt64(_ field: UnsafeRawBufferPointer, digits: Range<Int>, negative: Bool) -> Bool {
        if digits.count != 19 { return digits.count < 19 }
        let limit: StaticString = negative ? "9223372036854775808" : "9223372036854775807"
        for offset in 0..<19 where field[digits.lowerBound + offset] != limit.utf8Start[offset] {
            return field[digits.lowerBound + offset] < limit.utf8Start[offset]
        }
        return true
    }

    /// Whether `field` is an optional sign and digits, spaces around allowed (the shape of a whole number).
    static func isWholeNumberText(_ field: UnsafeRawBufferPointer) -> Bool {
        var bytes = field[...]
        while bytes.first == 0x20 { bytes = bytes.dropFirst() }
        while bytes.last == 0x20 { bytes = bytes.dropLast() }
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        return !bytes.isEmpty && bytes.allSatisfy { $0 &- 48 < 10 }
    }

    static func appendNumber(_ field: UnsafeRawBufferPointer, decimal: Bool, to output: inout JSONBytes) -> Bool {
        var index = 0
        var end = field.count
        while index < end && field[index] == 0x20 { index += 1 }
        while end > index && field[end - 1] == 0x20 { end -= 1 }
        var negative = false
        if index < end && (field[index] == UInt8(ascii: "-") || field[index] == UInt8(ascii: "+")) {
            negative = field[index] == UInt8(ascii: "-")
            index += 1
        }
        // Whole part.
        let wholeStart = index
        while index < end && field[index] &- 48 < 10 { index += 1 }
        let wholeEnd = index
        var fractionStart = index
        var fractionEnd = index
        if decimal && index < end && field[index] == UInt8(ascii: ".") {
            index += 1
            fractionStart = index
            while index < end && field[index] &- 48 < 10 { index += 1 }
            fractionEnd = index
            guard fractionEnd > fractionStart else { return false }
        }
        guard index == end, wholeEnd > wholeStart || fractionEnd > fractionStart else { return false }
        var firstDigit = wholeStart
        while firstDigit < wholeEnd - 1 && field[firstDigit] == 0x30 { firstDigit += 1 }
        // Whole numbers must fit a 64-bit integer, as SQLite and most JSON readers store them.
        guard decimal || fitsInt64(field, digits: firstDigit..<wholeEnd, negative: negative) else { return false }
        let isZero = firstDigit == wholeEnd || (wholeEnd - firstDigit == 1 && field[firstDigit] == 0x30)
        if negative && !(isZero && fractionEnd == fractionStart) { output.append(byte: UInt8(ascii: "-")) }
        if firstDigit == wholeEnd {
            output.append(byte: 0x30)
        } else {
            output.append(UnsafeRawBufferPointer(rebasing: field[firstDigit..<wholeEnd]))
        }
        if fractionEnd > fractionStart {
            output.append(byte: UInt8(ascii: "."))
            output.append(UnsafeRawBufferPointer(rebasing: field[fractionStart..<fractionEnd]))
        }
        return true
    }

    /// Writes `"YYYY-MM-DDTHH:MM:SSZ"` (quotes included, 22 bytes) for a Responsys timestamp
    /// `D[D]-Mon-YYYY HH:MM:SS`, shifted from UTC+`offset`; nil when the field is not one.
    @inline(__always)
    static func writeTimestamp(_ field: UnsafeRawBufferPointer, offset: Int, to out: UnsafeMutablePointer<UInt8>)
        -> Int?
    {
        let count = field.count
        guard count == 19 || count == 20 else { return nil }
        let dayDigits = count - 18
        @inline(__always) func digit(_ index: Int) -> Int? {
            let value = field[index] &- 48
            return value < 10 ? Int(value) : nil
        }
        guard let d1 = digit(0) else { return nil }
        var day = d1
        if dayDigits == 2 {
            guard let d2 = digit(1) else { return nil }
            day = day * 10 + d2
        }
        var p = dayDigits
        guard field[p] == UInt8(ascii: "-"), field[p + 4] == UInt8(ascii: "-"), field[p + 9] == 0x20,
            field[p + 12] == UInt8(ascii: ":"), field[p + 15] == UInt8(ascii: ":")
        else { return nil }
        let m0 = field[p + 1] | 0x20
        let m1 = field[p + 2] | 0x20
        let m2 = field[p + 3] | 0x20
        let month: Int
        switch (m0, m1, m2) {
        case (0x6A, 0x61, 0x6E): month = 1  // jan
        case (0x66, 0x65, 0x62): month = 2  // feb
        case (0x6D, 0x61, 0x72): month = 3  // mar
        case (0x61, 0x70, 0x72): month = 4  // apr
        case (0x6D, 0x61, 0x79): month = 5  // may
        case (0x6A, 0x75, 0x6E): month = 6  // jun
        case (0x6A, 0x75, 0x6C): month = 7  // jul
        case (0x61, 0x75, 0x67): month = 8  // aug
        case (0x73, 0x65, 0x70): month = 9  // sep
        case (0x6F, 0x63, 0x74): month = 10  // oct
        case (0x6E, 0x6F, 0x76): month = 11  // nov
        case (0x64, 0x65, 0x63): month = 12  // dec
        default: return nil
        }
        p += 5
        guard let y0 = digit(p), let y1 = digit(p + 1), let y2 = digit(p + 2), let y3 = digit(p + 3),
            let h0 = digit(p + 5), let h1 = digit(p + 6), let i0 = digit(p + 8), let i1 = digit(p + 9),
            let s0 = digit(p + 11), let s1 = digit(p + 12)
        else { return nil }
        var year = y0 * 1000 + y1 * 100 + y2 * 10 + y3
        var hour = h0 * 10 + h1
        var minute = i0 * 10 + i1
        var second = s0 * 10 + s1
        guard day >= 1, day <= Timestamp.daysInMonth(year: year, month: month), hour < 24, minute < 60, second < 60
        else { return nil }
        var monthOut = month
        if offset != 0 {
            let local =
                Timestamp.daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600
                + minute * 60 + second
            let utc = local - offset
            var days = utc / 86_400
            var rest = utc % 86_400
            if rest < 0 {
                rest += 86_400
                days -= 1
            }
            (year, monthOut, day) = civil(fromDays: days)
            hour = rest / 3600
            minute = rest % 3600 / 60
            second = rest % 60
            guard year >= 0 && year <= 9999 else { return nil }
        }
        @inline(__always) func two(_ value: Int, _ at: Int) {
            out[at] = UInt8(48 + value / 10)
            out[at + 1] = UInt8(48 + value % 10)
        }
        out[0] = 0x22
        two(year / 100, 1)
        two(year % 100, 3)
        out[5] = UInt8(ascii: "-")
        two(monthOut, 6)
        out[8] = UInt8(ascii: "-")
        two(day, 9)
        out[11] = UInt8(ascii: "T")
        two(hour, 12)
        out[14] = UInt8(ascii: ":")
        two(minute, 15)
        out[17] = UInt8(ascii: ":")
        two(second, 18)
        out[20] = UInt8(ascii: "Z")
        out[21] = 0x22
        return 22
    }

    /// The civil date of a day count since 1970-01-01 (inverse of `Timestamp.daysFromCivil`).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `EVENT_CAPTURED_DT` → `event_captured_dt`, `OfferURL` → `offer_url`, `Offer Name` → `offer_name`.
    public static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousLowerOrDigit = false
        var separator = false
        let scalars = Array(name.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            let isLetterOrDigit = scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
            guard isLetterOrDigit else {
                separator = true
                previousLowerOrDigit = false
                continue
            }
            let isUpper = scalar.properties.isUppercase
            // A new word starts at an upper-case letter after a lower-case one or a digit ("offerUrl"), or at
            // the last upper-case letter of a run followed by a lower-case one ("URLPath" → "url_path").
            let nextIsLower = index + 1 < scalars.count && scalars[index + 1].properties.isLowercase
            let previousIsUpper = index > 0 && scalars[index - 1].properties.isUppercase
            if isUpper && (previousLowerOrDigit || (previousIsUpper && nextIsLower)) { separator = true }
            if separator && !out.isEmpty { out += "_" }
            separator = false
            out += String(scalar).lowercased()
            previousLowerOrDigit = !isUpper
        }
        return out
    }
}
