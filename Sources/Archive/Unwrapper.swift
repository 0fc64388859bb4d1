import Core
import Foundation
import PGP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One plain file the decrypt stage produced.
public struct UnwrappedFile: Sendable, Equatable {
    /// Where it is, inside the output folder.
    public var path: String
    /// Its name in the output folder (unique within one input, stable across re-runs).
    public var name: String
    /// The remote name of the downloaded file it came from.
    public var derivedFrom: String
    /// The archive member it was, when it came out of an archive.
    public var member: String?
    /// The PGP signature status ("valid", "bad", "no-public-key"…), nil when unsigned or not encrypted.
    public var signatureStatus: String?

    public init(path: String, name: String, derivedFrom: String, member: String?, signatureStatus: String?) {
        self.path = path
        self.name = name
        self.derivedFrom = derivedFrom
        self.member = member
        self.signatureStatus = signatureStatus
    }
}

/// The decrypt stage's work for one downloaded file: remove PGP, then unpack an archive, else pass through.
///
/// What a file is comes from its bytes (`FileKind`), so a `.gpg` holding a zip, or a zip without
/// `.zip`, are handled; the name only decides the output name and that a file named `.gpg`/`.pgp`/`.asc`
/// must really be PGP. Output names: the input name without `.gpg`/`.pgp`/`.asc` and then without
/// `.gz`; archive members under their base names (see `ArchiveExtractor`). Names depend only on the
/// input, so a re-run replaces its own outputs; names from *different* inputs can collide, which the
/// caller (the stage, which sees every input) must check.
///
/// Plain files are hard linked into the folder (copied when it is on another file system): both names
/// then share one inode, so neither may be modified in place — the staging area never does.
public struct Unwrapper: Sendable {
    private let logger: Logger
    private let extractor: ArchiveExtractor

    public init(logger: Logger) {
        self.logger = logger.with(["stage": "decrypt"])
        self.extractor = ArchiveExtractor(logger: self.logger)
    }

    /// Unwraps one downloaded file into `folder`.
    /// - Parameters:
    ///   - input: the downloaded file.
    ///   - originalName: its remote name (`events_20240307.csv.gpg`).
    ///   - pgp: the configured decryptor, nil when no PGP key is configured.
    /// - Throws: `PGPError` (`.notConfigured` for an encrypted file without a key, `.notPGP` for a file named
    ///   like PGP that is not), `ArchiveError`, `ETLError` for file-system failures.
    public func unwrap(input: String, originalName: String, into folder: String, pgp: PGPDecryptor?) throws
        -> [UnwrappedFile]
    {
        try Files.makeDirectory(folder)
        var current = input
        var currentName = originalName
        var kind = FileKind.of(input)
        var signature: String?
        var intermediate: String?
        defer { if let intermediate { unlink(intermediate) } }

        // PGP layer.
        if Unwrapper.hasPGPExtension(originalName) || kind == .pgp {
            guard kind == .pgp else {
                throw PGPError(
                    .notPGP, "\(originalName) is named like a PGP file but is not an OpenPGP message",
                    remedy: "check what the sender put on the server")
            }
            guard let pgp else {
                throw PGPError(
                    .notConfigured, "\(originalName) is PGP-encrypted but no PGP key is configured",
                    remedy: "set pgp_private_key_file (and pgp_passphrase_env if the key has a passphrase)")
            }
            currentName = Unwrapper.withoutPGPExtension(originalName)
            let decrypted =
                folder + "/" + AtomicFileWriter.temporaryPrefix + "unwrap-\(getpid())-" + currentName
            intermediate = decrypted
            signature = try pgp.decrypt(input: input, output: decrypted).signatureStatus
            current = decrypted
            kind = FileKind.of(decrypted)
        }

        // Archive layer, or pass-through.
        switch kind {
        case .zip, .gzip:
            let members = try extractor.extract(archive: current, into: folder, name: currentName)
            return members.map { member in
                UnwrappedFile(
                    path: member.path, name: (member.path as NSString).lastPathComponent, derivedFrom: originalName,
                    member: member.memberName, signatureStatus: signature)
            }
        case .pgp, .plain:
            let target = folder + "/" + currentName
            _ = try PassThrough.publish(current, as: target, move: intermediate != nil)
            intermediate = nil
            logger.info("passed through", ["file": originalName, "output": currentName])
            return [
                UnwrappedFile(
                    path: target, name: currentName, derivedFrom: originalName, member: nil, signatureStatus: signature)
            ]
        }
    }

    /// Throws when two outputs of one stage run share a name: two downloaded files produced the same
    /// file name (two zips each holding `events.csv`), and the later would replace the earlier. The
    /// stage calls this on all outputs of a run before it writes its marker.
    public static func requireUniqueNames(_ files: [UnwrappedFile]) throws {
        var owners: [String: UnwrappedFile] = [:]
        for file in files {
            if let earlier = owners[file.name] {
                throw ArchiveError(
                    .duplicateMember,
                    "\(earlier.derivedFrom) and \(file.derivedFrom) both produce a file named \(file.name)",
                    remedy: "ask the sender for distinct member names, or process the files in separate runs")
            }
            owners[file.name] = file
        }
    }

    static let pgpExtensions = [".gpg", ".pgp", ".asc"]

    static func hasPGPExtension(_ name: String) -> Bool {
        let lower = name.lowercased()
        return pgpExtensions.contains { lower.hasSuffix($0) }
    }

    /// `events.csv.gpg` → `events.csv`; `events.gpg` → `events`.
    static func withoutPGPExtension(_ name: String) -> String {
        guard hasPGPExtension(name), name.count > 4 else { return name }
        return String(name.dropLast(4))
    }
}
