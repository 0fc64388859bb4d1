import Core
import Foundation

/// Reads and validates the configuration file.
public enum ConfigLoader {
    /// The config file used when `--config` is not given.
    public static let defaultPath = "responsys-etl.toml"

    /// Reads, parses and validates the file at `path` (relative to the working directory).
    ///
    /// Relative paths inside the file are resolved against the file's own folder.
    /// - Throws: `ConfigError` (exit status 2): `.missingFile` (mentioning `--config`), `.unreadable`, or every
    ///   syntax and validation problem of the file, each with file, line and key.
    public static func load(path: String) throws(ConfigError) -> ETLConfig {
        let absolute = absolutePath(path)
        let data: Data
        if Files.isDirectory(absolute) {
            throw ConfigError(
                .unreadable, file: path, line: nil, key: nil, message: "is a folder, not a configuration file",
                remedy: "name the .toml file with --config FILE")
        }
        do {
            data = try Files.read(absolute)
        } catch let error as ETLError where error.code == .notFound {
            throw ConfigError(
                .missingFile, file: path, line: nil, key: nil, message: "the configuration file does not exist",
                remedy: "create it (docs/configuration.md describes every key) or name another one with --config FILE")
        } catch {
            throw ConfigError(
                .unreadable, file: path, line: nil, key: nil, message: "cannot read the configuration file: \(error)",
                remedy: "check its permissions, or name another one with --config FILE")
        }
        return try parse(data: data, path: absolute)
    }

    /// Parses and validates configuration bytes as if read from `path` (used for the digest, the messages
    /// and to resolve relative paths).
    public static func parse(data: Data, path: String) throws(ConfigError) -> ETLConfig {
        let absolute = absolutePath(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(
                .unreadable, file: absolute, line: firstInvalidUTF8Line(data), key: nil,
                message: "the configuration file is not valid UTF-8")
        }
        let table = try TOMLParser.parse(text: text, file: absolute)
        var hash = SHA256()
        hash.update(data)
        return try ConfigValidator.validate(table, path: absolute, digest: hash.finalizeHex())
    }

    /// Parses and validates configuration text as if read from `path` (for tests).
    public static func parse(text: String, path: String) throws(ConfigError) -> ETLConfig {
        try parse(data: Data(text.utf8), path: path)
    }

    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        let base = FileManager.default.currentDirectoryPath
        return ((base as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }

    /// The line of the first byte sequence that is not UTF-8.
    private static func firstInvalidUTF8Line(_ data: Data) -> Int {
        var line = 1
        for chunk in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if String(data: Data(chunk), encoding: .utf8) == nil { return line }
            line += 1
        }
        return line
    }
}
