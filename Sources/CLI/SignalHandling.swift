import Core
import Foundation
import Staging

#if canImport(Glibc)
    import Glibc
#endif

/// SIGTERM (systemd stop, Kubernetes) and SIGINT (Ctrl-C) still end the process at once with 143 and 130, but
/// after one log line saying so, with the stage that was running.
///
/// The handler itself only writes the signal number into a pipe (`write` is async-signal-safe); a thread
/// blocked on the pipe logs the line, runs the `ExitCleanup` actions (temporary secrets such as `check`'s
/// GnuPG home) and calls `_exit`. Nothing else is cleaned up on the way out: outputs are published
/// atomically and markers written last, so the run resumes as it would after a SIGKILL. A real
/// handler, not `SIG_IGN` plus a dispatch source: an ignored signal stays ignored in the programs we start
/// (gpg), a caught one goes back to its default there.
enum SignalHandling {
    /// The pipe's write end, set once before any handler is installed.
    nonisolated(unsafe) private static var writeDescriptor: Int32 = -1

    static func install(logger: Logger) {
        var descriptors: [Int32] = [-1, -1]
        // Without a pipe the signals keep their default action: the process still stops, only without the line.
        guard pipe(&descriptors) == 0 else { return }
        for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        writeDescriptor = descriptors[1]
        let readDescriptor = descriptors[0]
        Thread.detachNewThread { stop(onSignalFrom: readDescriptor, logger: logger) }

        for number in [SIGTERM, SIGINT] {
            _ = signal(number) { received in
                var byte = UInt8(truncatingIfNeeded: received)
                _ = write(SignalHandling.writeDescriptor, &byte, 1)
            }
        }
        // A parent that blocked these signals (a test runner's threads do) passes its mask on through exec;
        // unblock them here, on the main thread, so they are delivered.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Waits for a signal number on the pipe, logs it with the running stage, and ends the process.
    private static func stop(onSignalFrom descriptor: Int32, logger: Logger) {
        var byte: UInt8 = 0
        while true {
            let count = read(descriptor, &byte, 1)
            if count == 1 { break }
            if count < 0 && errno == EINTR { continue }
            return
        }
        let number = Int32(byte)
        let name = number == SIGINT ? "SIGINT" : "SIGTERM"
        if let active = ActiveStage.current {
            logger.warn(
                "stopping on signal; the run resumes on the next start",
                ["signal": name, "workflow": active.workflow, "run": active.run, "stage": active.stage])
        } else {
            logger.warn("stopping on signal", ["signal": name])
        }
        ExitCleanup.runAll()
        _exit(128 + number)
    }
}
