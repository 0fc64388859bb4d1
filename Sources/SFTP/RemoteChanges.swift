import CLibSSH2
import Core

extension SFTPSession {
    /// Deletes the remote file `path`.
    public func remove(path: String) throws {
        if retl_sftp_unlink(sftp, path) != 0 { throw failure("cannot delete \(path) on \(target)") }
    }

    /// Renames `from` to `to` on the server. OpenSSH's server (SFTP v3) refuses when `to` exists.
    public func rename(from: String, to: String) throws {
        if retl_sftp_rename(sftp, from, to) != 0 { throw failure("cannot rename \(from) to \(to) on \(target)") }
    }

    /// Creates the remote folder `path` (mode 0700) unless a folder of that name exists.
    public func makeDirectory(_ path: String) throws {
        if retl_sftp_mkdir(sftp, path, 0o700) == 0 { return }
        let error = failure("cannot create the folder \(path) on \(target)")
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        if retl_sftp_stat(sftp, path, &attributes) == 0,
            attributes.permissions & UInt(RETL_SFTP_S_IFMT) == UInt(RETL_SFTP_S_IFDIR)
        {
            return
        }
        throw error
    }
}

/// What happens to an imported file on the server once the run's load stage has succeeded
/// (`after_import = "keep" | "delete" | "move:/archive"`).
public enum AfterImportAction: Sendable, Equatable, CustomStringConvertible {
    case keep
    case delete
    /// Move into this remote folder, keeping the name.
    case move(toDirectory: String)

    /// Parses the configuration value; nil when it is none of the three forms.
    public init?(configValue: String) {
        switch configValue {
        case "keep": self = .keep
        case "delete": self = .delete
        case _ where configValue.hasPrefix("move:") && configValue.count > "move:".count:
            self = .move(toDirectory: String(configValue.dropFirst("move:".count)))
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .keep: "keep"
        case .delete: "delete"
        case .move(let folder): "move:\(folder)"
        }
    }

    /// Applies the action to `remotePath` over `session` (authenticated). Moving creates the folder if needed.
    public func apply(to remotePath: String, session: SFTPSession) throws {
        switch self {
        case .keep:
            return
        case .delete:
            try session.remove(path: remotePath)
        case .move(let folder):
            try session.makeDirectory(folder)
            let name = remotePath.split(separator: "/").last.map(String.init) ?? remotePath
            try session.rename(from: remotePath, to: SFTPSession.join(folder, name))
        }
        session.logger.info("after_import applied", ["file": remotePath, "action": description])
    }
}
