import Core
import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One start of the built `responsys-etl` that a scenario may SIGKILL at any moment: started with
/// posix_spawn (stdout and stderr to files), polled without blocking, killed by its own pid only.
final class ToolRun {
    let pid: pid_t
    let outputPath: String
    let errorPath: String
    private(set) var exitStatus: Int32?

    /// Starts `responsys-etl arguments` in `directory` with `environment` added to this process's.
    init(_ arguments: [String], in directory: String, environment: [String: String], logs: String) throws {
        outputPath = logs + ".out"
        errorPath = logs + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let executable = ToolProcess.path(of: "responsys-etl")
        // The shell changes folder, then becomes the tool (exec keeps the pid, so a kill reaches the tool).
        let command = ["/bin/sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", directory, executable] + arguments
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, "/bin/sh", &actions, nil, argv, envp)
        guard result == 0 else {
            throw ETLError(.failed, "cannot start \(executable)", underlying: String(cString: strerror(result)))
        }
        pid = child
    }

    /// Whether the process has exited; reaps it when it has.
    var hasExited: Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        exitStatus = Self.decode(status)
        return true
    }

    /// Waits for the exit and returns its status (128 + signal when killed).
    @discardableResult
    func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let decoded = Self.decode(status)
        exitStatus = decoded
        return decoded
    }

    /// SIGKILL, then reap. Returns false when the process had already exited on its own.
    @discardableResult
    func kill() -> Bool {
        if hasExited { return false }
        Glibc.kill(pid, SIGKILL)
        wait()
        return exitStatus == 128 + SIGKILL
    }

    var stdout: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// Runs to the end and returns the status.
    static func complete(
        _ arguments: [String], in directory: String, environment: [String: String], logs: String
    ) throws -> ToolRun {
        let run = try ToolRun(arguments, in: directory, environment: environment, logs: logs)
        run.wait()
        return run
    }

    private static func decode(_ status: Int32) -> Int32 {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros: exited normally when the low 7 bits are 0.
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// Where a run of a workflow stands, read from the newest `run.json` under `staging/<workflow>/runs`.
struct RunProbe {
    let runsPath: String

    /// The newest run folder's record as JSON, or nil before one exists.
    func latestRecord() -> [String: Any]? {
        guard let names = try? Files.list(runsPath), let newest = names.filter({ !$0.hasPrefix(".") }).max(),
            let data = try? Files.read(runsPath + "/" + newest + "/run.json"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object
    }

    /// The name of the stage the newest run records as running, "finished" for a finished run,
    /// "starting" before any stage runs.
    func currentStage() -> String {
        guard let record = latestRecord() else { return "starting" }
        if record["finishedAt"] != nil { return "finished" }
        let stages = record["stages"] as? [[String: Any]] ?? []
        if let running = stages.first(where: { $0["state"] as? String == "running" }) {
            return running["name"] as? String ?? "?"
        }
        return "between"
    }
}
