import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One of the package's executables started in the background, for tests that act on it while it runs
/// (a signal at a chosen moment). Its stdout is discarded; its stderr is read as it comes.
public final class RunningTool {
    private let process = Process()
    private let errors = Pipe()
    private var stderr = Data()

    public init(
        _ executable: String, _ arguments: [String], in directory: String, environment: [String: String] = [:]
    ) throws {
        process.executableURL = URL(fileURLWithPath: ToolProcess.path(of: executable))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Reads stderr until it contains `text` (true) or the process closes it (false).
    public func waitForStderr(containing text: String) -> Bool {
        while !String(decoding: stderr, as: UTF8.self).contains(text) {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { return false }
            stderr.append(chunk)
        }
        return true
    }

    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the end; whether it exited by itself (not killed by a signal), its status, and all of stderr.
    public func finish() -> (exited: Bool, status: Int32, stderr: String) {
        stderr.append(errors.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        return (process.terminationReason == .exit, process.terminationStatus, String(decoding: stderr, as: UTF8.self))
    }
}
