import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A one-line progress display on stderr (done, rate, ETA) for long work. It draws only when stderr is
/// a terminal, at most a few times a second, so logs of scheduled runs never contain it.
public final class Progress: @unchecked Sendable {
    public enum Unit: Sendable { case bytes, records }

    private let label: String
    private let unit: Unit
    private let total: Int64?
    private let enabled: Bool
    private let started = monotonicSeconds()
    private var lastDrawn = 0.0
    private var done: Int64 = 0
    private let lock = NSLock()

    public init(label: String, unit: Unit, total: Int64? = nil, enabled: Bool = Progress.stderrIsTerminal) {
        self.label = label
        self.unit = unit
        self.total = total
        self.enabled = enabled
    }

    public static var stderrIsTerminal: Bool { isatty(2) == 1 }

    public func advance(by amount: Int64) {
        guard enabled else { return }
        let line: String? = lock.withLock {
            done += amount
            let now = monotonicSeconds()
            guard now - lastDrawn >= 0.25 else { return nil }
            lastDrawn = now
            return render(elapsed: now - started)
        }
        if let line { draw("\r\u{1B}[2K" + line) }
    }

    /// Clears the line when the work ends, so the next log line starts clean.
    public func finish() {
        guard enabled else { return }
        draw("\r\u{1B}[2K")
    }

    func render(elapsed: Double) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var line = "\(label) \(Progress.format(Double(done), unit))"
        if let total { line += " of \(Progress.format(Double(total), unit))" }
        line += " at \(Progress.format(rate, unit))/s"
        if let total, rate > 0, total > done {
            line += " ETA \(Int((Double(total - done) / rate).rounded()))s"
        }
        return line
    }

    static func format(_ value: Double, _ unit: Unit) -> String {
        switch unit {
        case .records: return value >= 1e6 ? String(format: "%.1fM", value / 1e6) : String(Int(value))
        case .bytes:
            if value >= 1_073_741_824 { return String(format: "%.2f GiB", value / 1_073_741_824) }
            if value >= 1_048_576 { return String(format: "%.1f MiB", value / 1_048_576) }
            return String(format: "%.0f KiB", value / 1024)
        }
    }

    private func draw(_ text: String) {
        StandardErrorSink().writeRaw(text)
    }
}

extension StandardErrorSink {
    func writeRaw(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { _ = Foundation.write(2, $0.baseAddress!, $0.count) }
    }
}
