import Core

/// A parsed command line.
public struct Invocation: Sendable, Equatable {
    public var command: String
    public var arguments: [String: String] = [:]
    /// Option values by name (`--run` → id); flags map to "".
    public var options: [String: String] = [:]
    public var configPath = "responsys-etl.toml"
    public var logLevel = LogLevel.info
    public var logFormat = LogFormat.text
    public var helpRequested = false

    public func flag(_ name: String) -> Bool { options[name] != nil }
}

/// Parses `responsys-etl [global options] COMMAND [arguments] [options]`. Global options may also
/// appear after the command. Every mistake is a usage error (exit status 2) that names the token.
public enum ArgumentParser {
    /// Whether `tokens` ask for `--log-format json`, read without parsing the rest: for reporting a command
    /// line that does not parse in the format the scheduler expects.
    static func requestsJSONLogs(_ tokens: [String]) -> Bool {
        zip(tokens, tokens.dropFirst() + [""]).contains { token, next in
            token == "--log-format=json" || (token == "--log-format" && next == "json")
        }
    }

    public static func parse(_ tokens: [String]) throws -> Invocation {
        var invocation = Invocation(command: "")
        var positionals: [String] = []
        var index = 0
        var spec: CommandSpec?

        func value(for name: String) throws -> String {
            index += 1
            guard index < tokens.count, !tokens[index].hasPrefix("--") || tokens[index] == "-" else {
                throw usage("option \(name) needs a value")
            }
            return tokens[index]
        }

        while index < tokens.count {
            var token = tokens[index]
            var inlineValue: String?
            if token.hasPrefix("--"), let equals = token.firstIndex(of: "=") {
                inlineValue = String(token[token.index(after: equals)...])
                token = String(token[..<equals])
            }
            switch token {
            case "--help", "-h":
                invocation.helpRequested = true
            case "--config":
                invocation.configPath = try inlineValue ?? value(for: token)
            case "--log-level":
                let text = try inlineValue ?? value(for: token)
                guard let level = LogLevel(name: text) else {
                    throw usage("--log-level must be debug, info, warn or error, not '\(text)'")
                }
                invocation.logLevel = level
            case "--log-format":
                let text = try inlineValue ?? value(for: token)
                guard let format = LogFormat(rawValue: text) else {
                    throw usage("--log-format must be text or json, not '\(text)'")
                }
                invocation.logFormat = format
            default:
                if token.hasPrefix("-") && token != "-" {
                    guard let spec, let option = spec.options.first(where: { $0.name == token }) else {
                        let scope = spec.map { "command '\($0.name)'" } ?? "responsys-etl"
                        throw usage("unknown option \(token) for \(scope)")
                    }
                    if option.value != nil {
                        invocation.options[token] = try inlineValue ?? value(for: token)
                    } else {
                        guard inlineValue == nil else { throw usage("option \(token) takes no value") }
                        invocation.options[token] = ""
                    }
                } else if spec == nil {
                    guard let found = CommandTable.command(named: token) else {
                        throw usage("unknown command '\(token)'")
                    }
                    spec = found
                    invocation.command = token
                } else {
                    positionals.append(token)
                }
            }
            index += 1
        }

        guard let spec else {
            if invocation.helpRequested { return invocation }
            throw usage("no command given")
        }
        if invocation.helpRequested { return invocation }
        guard positionals.count <= spec.arguments.count else {
            throw usage(
                "too many arguments for '\(spec.name)': \(positionals.dropFirst(spec.arguments.count).joined(separator: " "))"
            )
        }
        for (position, name) in spec.arguments.enumerated() {
            if position < positionals.count {
                invocation.arguments[name.hasSuffix("?") ? String(name.dropLast()) : name] = positionals[position]
            } else if !name.hasSuffix("?") {
                throw usage("'\(spec.name)' needs \(name)")
            }
        }
        return invocation
    }

    static func usage(_ message: String) -> ETLError {
        ETLError(.usage, message, remedy: "see responsys-etl --help")
    }
}
