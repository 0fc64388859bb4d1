import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real OpenSSH `sshd` for tests: its own config, host keys made with ssh-keygen at start, listening on
/// 127.0.0.1 at a free high port, serving SFTP (internal-sftp) to the current user with keys only.
/// Stopped (with every session process) when dropped or by `stop()`.
///
///     let server = try SSHServer(config: ["PubkeyAcceptedAlgorithms +ssh-rsa"])
///     let key = try SSHServer.makeKey(type: "ed25519", at: folder.file("id"))
///     try server.authorize(publicKeyOf: key)
///     try server.writeKnownHosts(to: folder.file("known_hosts"), hashed: true)
public final class SSHServer: @unchecked Sendable {
    public let host = "127.0.0.1"
    public private(set) var port = 0
    /// The current user, whom the server lets in with an authorized key.
    public let username: String
    /// The server's own folder: config, host keys, authorized_keys, log.
    public let folder: TemporaryFolder
    public let hostKeyTypes: [String]
    public var authorizedKeysPath: String { folder.file("authorized_keys") }
    public var logPath: String { folder.file("sshd.log") }

    /// The listening sshd, started with posix_spawn (Foundation's Process can hang in waitUntilExit on Linux).
    private var pid: pid_t = 0
    private let lock = NSLock()

    /// Starts the server. `hostKeyTypes` are ssh-keygen `-t` names (`ed25519`, `ecdsa`, `rsa`); `config`
    /// lines are appended to sshd_config (e.g. `PubkeyAcceptedAlgorithms +ssh-rsa`).
    public init(hostKeyTypes: [String] = ["ed25519"], config: [String] = []) throws {
        folder = try TemporaryFolder("sshd")
        self.hostKeyTypes = hostKeyTypes
        username = Self.currentUserName()
        for type in hostKeyTypes {
            try Self.runTool(
                "/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "test-host", "-f", hostKeyPath(type)])
        }
        _ = FileManager.default.createFile(atPath: authorizedKeysPath, contents: Data())
        // sshd started as root insists on its privilege-separation folder, which a service manager
        // normally creates at boot; a test machine without the service may lack it.
        if geteuid() == 0 && !FileManager.default.fileExists(atPath: "/run/sshd") {
            mkdir("/run/sshd", 0o755)
        }

        // A port found free can be taken before sshd binds it: retry with another.
        var lastLog = ""
        for _ in 0..<5 {
            port = try Self.freePort()
            try writeConfig(extra: config)
            if try launch() { return }
            lastLog = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        throw ETLError(.failed, "sshd did not start", underlying: lastLog)
    }

    deinit { stop() }

    public func hostKeyPath(_ type: String) -> String { folder.file("ssh_host_\(type)_key") }

    private func writeConfig(extra: [String]) throws {
        var lines = [
            "Port \(port)",
            "ListenAddress 127.0.0.1",
            "PidFile \(folder.file("sshd.pid"))",
            "AuthorizedKeysFile \(authorizedKeysPath)",
            "StrictModes no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
        ]
        lines += hostKeyTypes.map { "HostKey \(hostKeyPath($0))" }
        lines += extra
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: folder.file("sshd_config"), atomically: true, encoding: .utf8)
    }

    /// Starts sshd in the foreground and waits until its log says it listens; false if it exited instead.
    private func launch() throws -> Bool {
        try? FileManager.default.removeItem(atPath: logPath)
        let child = try Self.spawn("/usr/sbin/sshd", ["-D", "-f", folder.file("sshd_config"), "-E", logPath])
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child { return false }
            if let log = try? String(contentsOfFile: logPath, encoding: .utf8), log.contains("Server listening on") {
                lock.withLock { pid = child }
                return true
            }
            usleep(20_000)
        }
        kill(child, SIGKILL)
        var status: Int32 = 0
        waitpid(child, &status, 0)
        throw ETLError(.failed, "sshd did not report listening within 15 s")
    }

    /// Appends the `.pub` beside `privateKeyPath` to authorized_keys (read by sshd at each login).
    public func authorize(publicKeyOf privateKeyPath: String) throws {
        let line = try String(contentsOfFile: privateKeyPath + ".pub", encoding: .utf8)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: authorizedKeysPath))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((line.hasSuffix("\n") ? line : line + "\n").utf8))
    }

    /// The host key's fingerprint as `ssh-keygen -lf` prints it: `SHA256:…`.
    public func hostFingerprint(_ type: String = "ed25519") throws -> String {
        let output = try Self.runTool("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", hostKeyPath(type) + ".pub"])
        guard let fingerprint = output.split(separator: " ").first(where: { $0.hasPrefix("SHA256:") }) else {
            throw ETLError(.failed, "no fingerprint in ssh-keygen output", underlying: output)
        }
        return String(fingerprint)
    }

    /// The known_hosts line for this server's `type` host key, named `[127.0.0.1]:PORT` as OpenSSH writes it.
    public func knownHostsLine(_ type: String = "ed25519") throws -> String {
        let publicKey = try String(contentsOfFile: hostKeyPath(type) + ".pub", encoding: .utf8)
        let fields = publicKey.split(separator: " ")
        guard fields.count >= 2 else { throw ETLError(.failed, "unexpected public key \(publicKey)") }
        return "[\(host)]:\(port) \(fields[0]) \(fields[1])"
    }

    /// Writes a known_hosts file listing `types` of this server's host keys (plus `extraLines` first);
    /// `hashed` runs `ssh-keygen -H` over it, as `HashKnownHosts yes` would have written it.
    public func writeKnownHosts(
        to path: String, types: [String]? = nil, hashed: Bool = false, extraLines: [String] = []
    ) throws {
        let lines = try extraLines + (types ?? hostKeyTypes).map { try knownHostsLine($0) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        if hashed {
            try Self.runTool("/usr/bin/ssh-keygen", ["-H", "-f", path])
            try? FileManager.default.removeItem(atPath: path + ".old")
        }
    }

    /// Kills (SIGKILL) every process serving a connection, cutting all sessions; the server keeps listening.
    public func killSessions() {
        let listener = lock.withLock { pid }
        guard listener > 0 else { return }
        for child in Self.descendants(of: listener) { kill(child, SIGKILL) }
    }

    /// Stops the server and its sessions.
    public func stop() {
        let listener = lock.withLock { () -> pid_t in
            defer { pid = 0 }
            return pid
        }
        guard listener > 0 else { return }
        for child in Self.descendants(of: listener) { kill(child, SIGKILL) }
        kill(listener, SIGTERM)
        var status: Int32 = 0
        waitpid(listener, &status, 0)
    }

    // MARK: - Keys and tools

    /// Makes a client key pair with ssh-keygen at `path` (and `path.pub`); `pem` writes the old PEM format.
    @discardableResult
    public static func makeKey(type: String, at path: String, passphrase: String = "", pem: Bool = false) throws
        -> String
    {
        var arguments = ["-q", "-t", type, "-N", passphrase, "-C", "test-client", "-f", path]
        if type == "rsa" { arguments += ["-b", "2048"] }
        if pem { arguments += ["-m", "PEM"] }
        try runTool("/usr/bin/ssh-keygen", arguments)
        return path
    }

    /// Runs a tool, returning its standard output; a non-zero exit throws with its standard error.
    @discardableResult
    public static func runTool(_ executable: String, _ arguments: [String]) throws -> String {
        let scratch = try TemporaryFolder("tool")
        let outputPath = scratch.file("stdout")
        let errorPath = scratch.file("stderr")
        let child = try spawn(executable, arguments, output: outputPath, errors: errorPath)
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED and WEXITSTATUS are macros: exited normally when the low 7 bits are 0.
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exitCode == 0 else {
            throw ETLError(
                .failed, "\(executable) \(arguments.joined(separator: " ")) exited \(exitCode)",
                underlying: (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
        }
        return output
    }

    /// Starts `executable` with stdin from /dev/null and stdout/stderr to the given files (or /dev/null).
    public static func spawn(
        _ executable: String, _ arguments: [String], output: String = "/dev/null", errors: String = "/dev/null"
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, nil, argv, environ)
        guard result == 0 else {
            throw ETLError(.failed, "cannot start \(executable)", underlying: systemErrorText(result))
        }
        return child
    }

    private static func currentUserName() -> String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "root"
    }

    /// A port the kernel says is free on 127.0.0.1 (bound to 0, read back, released).
    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ETLError(.io, "socket failed", underlying: systemErrorText(errno)) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else { throw ETLError(.io, "bind failed", underlying: systemErrorText(errno)) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Every process below `pid`, read from /proc (children first found, then theirs).
    private static func descendants(of pid: Int32) -> [Int32] {
        var parents: [Int32: [Int32]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let child = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // Fields after the command name: state, ppid, …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { parents[parent, default: []].append(child) }
        }
        var result: [Int32] = []
        var queue = [pid]
        while let next = queue.popLast() {
            for child in parents[next] ?? [] {
                result.append(child)
                queue.append(child)
            }
        }
        return result
    }
}
