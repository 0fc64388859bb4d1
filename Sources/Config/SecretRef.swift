import Core
import Foundation

/// Where a secret lives. The configuration never holds a secret itself: it names an environment
/// variable (`*_env` keys) or a file (`*_file` keys, resolved against the config file's folder).
public enum SecretRef: Sendable, Equatable, Hashable {
    /// The name of an environment variable.
    case environment(String)
    /// The absolute path of a file holding the secret.
    case file(String)

    /// Reads the secret.
    ///
    /// A file's content loses one trailing newline (`\n` or `\r\n`), as editors and `echo` add one.
    /// - Parameter environment: the process environment (a parameter so tests can pass their own).
    /// - Throws: `ConfigError` `.missingSecret` naming the variable or file (never a value) when the
    ///   variable is unset or empty, or the file is missing or empty; `.unreadable` when the file exists
    ///   but cannot be read or is not UTF-8.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError)
        -> String
    {
        switch self {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw ConfigError(
                    .missingSecret, file: "environment variable \(name)", line: nil, key: nil,
                    message: "is not set or is empty, but the config takes a secret from it",
                    remedy: "export \(name) before running, or use a *_file key")
            }
            return value
        case .file(let path):
            let data: Data
            do {
                data = try Files.read(path)
            } catch let error as ETLError where error.code == .notFound {
                throw ConfigError(
                    .missingSecret, file: path, line: nil, key: nil, message: "the secret file does not exist")
            } catch {
                throw ConfigError(
                    .unreadable, file: path, line: nil, key: nil, message: "cannot read the secret file",
                    remedy: "check its permissions")
            }
            guard var text = String(data: data, encoding: .utf8) else {
                throw ConfigError(
                    .unreadable, file: path, line: nil, key: nil, message: "the secret file is not UTF-8 text")
            }
            // "\r\n" is a single Character in Swift, so one removeLast() drops either ending.
            if text.hasSuffix("\r\n") || text.hasSuffix("\n") { text.removeLast() }
            guard !text.isEmpty else {
                throw ConfigError(.missingSecret, file: path, line: nil, key: nil, message: "the secret file is empty")
            }
            return text
        }
    }
}
