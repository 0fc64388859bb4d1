import Core
import Foundation

/// A throw-away GnuPG home for tests, driven through the `gpg` command line: generates keys, exports
/// them, and encrypts or signs files the way a sender's tools would. Nothing here uses gpgme, so the
/// code under test is checked against the real CLI.
///
/// Key generation is slow; a test suite makes one fixture and its keys once (a `static let`).
/// gpg never looks keys up on the network from this home (`auto-key-locate local`).
public final class GnuPGFixture: @unchecked Sendable {
    public let folder: TemporaryFolder
    public let home: String

    /// A generated key and its exports.
    public struct Key: Sendable {
        public var email: String
        public var fingerprint: String
        /// Key ids (16 hex digits) of the primary key and its subkeys, primary first.
        public var keyIDs: [String]
        public var passphrase: String?
        /// The private key exported with `--armor`.
        public var armoredSecretKey: String
        /// The private key exported in binary.
        public var binarySecretKey: String
        /// The public key exported with `--armor`.
        public var armoredPublicKey: String
    }

    public init() throws {
        folder = try TemporaryFolder("gnupg")
        home = folder.path + "/home"
        try Files.makeDirectory(home)
        try Data("auto-key-locate local\nno-auto-key-retrieve\n".utf8).write(
            to: URL(fileURLWithPath: home + "/gpg.conf"))
        try Data("allow-loopback-pinentry\n".utf8).write(to: URL(fileURLWithPath: home + "/gpg-agent.conf"))
        GnuPGFixture.registerForShutdown(home, removing: folder.path)
    }

    deinit { stopAgent() }

    /// Runs gpg with this home in batch mode; throws with gpg's stderr when it fails.
    @discardableResult
    public func gpg(_ arguments: [String], passphrase: String? = nil) throws -> String {
        var full = ["--homedir", home, "--batch", "--yes", "--no-tty", "--trust-model", "always"]
        if let passphrase { full += ["--pinentry-mode", "loopback", "--passphrase", passphrase] }
        return try GnuPGFixture.run("gpg", full + arguments)
    }

    /// Generates a key. `algorithm` is "rsa" (RSA 2048 primary plus an RSA 2048 encryption subkey) or
    /// "ed25519" (ed25519 primary plus a cv25519 encryption subkey). `fakedTime` (e.g. "20200101T000000")
    /// with a short `expiry` makes a key that has already expired.
    public func generateKey(
        name: String, algorithm: String, passphrase: String?, expiry: String = "never", fakedTime: String? = nil
    ) throws -> Key {
        let email = "\(name)@example.invalid"
        let time = fakedTime.map { ["--faked-system-time", $0] } ?? []
        let secret = passphrase ?? ""
        let (primary, sub) = algorithm == "rsa" ? ("rsa2048", "rsa2048") : ("ed25519", "cv25519")
        try gpg(time + ["--quick-gen-key", "\(name) <\(email)>", primary, "sign", expiry], passphrase: secret)
        let fingerprint = try fingerprintOf(email)
        try gpg(time + ["--quick-add-key", fingerprint, sub, "encr", expiry], passphrase: secret)
        let listing = try gpg(["--with-colons", "--list-keys", fingerprint])
        let keyIDs = listing.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            return (fields.first == "pub" || fields.first == "sub") && fields.count > 4 ? String(fields[4]) : nil
        }
        let armored = folder.file("\(name)-secret.asc")
        let binary = folder.file("\(name)-secret.gpg")
        let publicKey = folder.file("\(name)-public.asc")
        try gpg(["--armor", "--output", armored, "--export-secret-keys", fingerprint], passphrase: secret)
        try gpg(["--output", binary, "--export-secret-keys", fingerprint], passphrase: secret)
        try gpg(["--armor", "--output", publicKey, "--export", fingerprint])
        return Key(
            email: email, fingerprint: fingerprint, keyIDs: keyIDs, passphrase: passphrase, armoredSecretKey: armored,
            binarySecretKey: binary, armoredPublicKey: publicKey)
    }

    private func fingerprintOf(_ email: String) throws -> String {
        let listing = try gpg(["--with-colons", "--list-keys", email])
        for line in listing.split(separator: "\n") where line.hasPrefix("fpr:") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count > 9 { return String(fields[9]) }
        }
        throw ETLError(.failed, "gpg listed no fingerprint for \(email)")
    }

    /// Encrypts `input` into `output` for `recipients` (fingerprints) with the gpg CLI.
    /// - Parameters:
    ///   - compression: "none", "zip", "zlib", "bzip2" or nil for gpg's default.
    ///   - signer: a key to sign with as well.
    ///   - extra: more gpg options (`--rfc2440`, `--cipher-algo`…).
    public func encrypt(
        _ input: String, to output: String, recipients: [Key], armor: Bool = false, compression: String? = nil,
        signer: Key? = nil, extra: [String] = []
    ) throws {
        var arguments = extra + ["--output", output]
        if armor { arguments.append("--armor") }
        if let compression { arguments += ["--compress-algo", compression] }
        for recipient in recipients { arguments += ["--recipient", recipient.fingerprint] }
        if let signer { arguments += ["--local-user", signer.fingerprint, "--sign"] }
        arguments += ["--encrypt", input]
        try gpg(arguments, passphrase: signer?.passphrase ?? (signer != nil ? "" : nil))
    }

    /// Stops this home's gpg-agent.
    public func stopAgent() {
        _ = try? GnuPGFixture.run("gpgconf", ["--homedir", home, "--kill", "gpg-agent"])
    }

    /// Runs a program found on PATH; returns its stdout, throws with its stderr on a non-zero exit.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes before waiting, so a chatty program cannot block on a full pipe.
        nonisolated(unsafe) var stderrData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            stderrData = errors.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let stdoutData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ETLError(
                .failed, "\(program) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)",
                underlying: String(decoding: stderrData, as: UTF8.self))
        }
        return String(decoding: stdoutData, as: UTF8.self)
    }

    // MARK: - Stopping agents when the test process ends

    nonisolated(unsafe) private static var homes: [String] = []
    nonisolated(unsafe) private static var foldersToRemove: [String] = []
    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered = false

    /// Static fixtures never deinitialise, so their agents are stopped and folders removed at exit.
    private static func registerForShutdown(_ home: String, removing folder: String? = nil) {
        lock.withLock {
            homes.append(home)
            if let folder { foldersToRemove.append(folder) }
            if !registered {
                registered = true
                atexit { GnuPGFixture.stopAllAgents() }
            }
        }
    }

    /// Stops every agent a fixture (or a test's own GnuPG home passed to `trackHome`) started.
    public static func stopAllAgents() {
        let (all, folders) = lock.withLock { (homes, foldersToRemove) }
        for home in all where Files.isDirectory(home) {
            _ = try? run("gpgconf", ["--homedir", home, "--kill", "gpg-agent"])
        }
        if ProcessInfo.processInfo.environment["RETL_KEEP_TEST_FILES"] == nil {
            for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
        }
    }

    /// Registers another GnuPG home (one made by the code under test) whose agent must stop at exit.
    public static func trackHome(_ home: String) { registerForShutdown(home) }
}
