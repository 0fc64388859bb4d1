import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The per-workflow lock: an exclusive `flock` on `staging/<workflow>/lock`, held for the whole run.
/// The kernel releases it when the process dies, so a crashed run never leaves a stale lock behind.
/// The file records the holder's pid and start time so a refused run can say who holds it.
public final class WorkflowLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    /// Takes the lock or throws `lockHeld` (exit status 75) naming the process that holds it.
    public init(path: String, workflow: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ETLError(.io, "cannot open the lock file \(path)", underlying: systemErrorText(errno))
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            let holder = WorkflowLock.describeHolder(fd: fd)
            close(fd)
            fd = -1
            if reason == EWOULDBLOCK {
                throw ETLError(
                    .lockHeld, "another run of workflow '\(workflow)' is active (\(holder))",
                    remedy: "wait for it to finish; the scheduler can simply retry later")
            }
            throw ETLError(.io, "cannot lock \(path)", underlying: systemErrorText(reason))
        }
        let text = "pid=\(getpid()) started=\(Timestamp.iso8601(Date()))\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit { release() }

    public func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    private static func describeHolder(fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 200)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return "holder unknown" }
        let text = String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "holder unknown" : "held by " + text
    }
}

extension WorkflowLock {
    /// The process that holds the lock of the run now active, read without taking the lock (so `status`
    /// never delays a run): the pid written in the lock file, if that process is alive and still a
    /// responsys-etl. Nil when no run is active; a run killed with SIGKILL leaves no holder.
    public static func activeHolder(path: String) -> (pid: Int32, since: String)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var pid: Int32?
        var since = ""
        for field in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            if field.hasPrefix("pid=") { pid = Int32(field.dropFirst(4)) }
            if field.hasPrefix("started=") { since = String(field.dropFirst(8)) }
        }
        guard let pid, pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return nil }
        // A recycled pid belongs to another program: only a responsys-etl process counts.
        let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        guard command.hasPrefix("responsys-etl") else { return nil }
        // The holder may have finished and released the lock while its pid lives on (tests in-process):
        // the lock itself is the last word.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return (pid, since)
    }
}
