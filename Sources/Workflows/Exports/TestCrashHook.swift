import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// TEST HOOK ONLY — not an option of the tool, not in `--help`. The end-to-end tests set
/// `RETL_TEST_CRASH_AT=POINT:N` to kill the process (SIGKILL, as a power cut or the OOM killer would) at a
/// precise point of an export load, at the N-th request (1-based) that reaches that point in this process:
/// for merges and deletes `before-request`, `after-request` (answered, receipt not yet written) and
/// `after-receipt`; for Merge Trigger Email `before-trigger` (journaled as sending, not yet sent),
/// `after-trigger` (answered, not yet journaled as sent) and `after-trigger-receipt` (journaled as sent,
/// the load folder's item not yet recorded). Unset, it does nothing.
enum TestCrashHook {
    static let variable = "RETL_TEST_CRASH_AT"

    private static let target: (point: String, count: Int)? = {
        guard let text = ProcessInfo.processInfo.environment[variable] else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let count = Int(parts[1]) else { return nil }
        return (String(parts[0]), count)
    }()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var reached: [String: Int] = [:]

    static func point(_ name: String) {
        guard let target, target.point == name else { return }
        let count = lock.withLock { () -> Int in
            reached[name, default: 0] += 1
            return reached[name]!
        }
        if count == target.count {
            kill(getpid(), SIGKILL)
        }
    }
}
