/// The command line as data: each command's arguments and options, from which both parsing and `--help`
/// are derived, so the two can never disagree.
public struct OptionSpec: Sendable {
    public let name: String
    /// The value's placeholder (`FILE`, `ID`), nil for a flag.
    public let value: String?
    public let help: String
}

public struct CommandSpec: Sendable {
    public let name: String
    public let summary: String
    /// Positional arguments; a trailing `?` marks an optional one (`WORKFLOW?`).
    public let arguments: [String]
    public let options: [OptionSpec]
    public let details: String
    /// Hidden commands (tools for the demo and benchmarks) are not listed in the main help.
    public let hidden: Bool

    init(
        _ name: String, _ summary: String, arguments: [String] = [], options: [OptionSpec] = [], details: String = "",
        hidden: Bool = false
    ) {
        self.name = name
        self.summary = summary
        self.arguments = arguments
        self.options = options
        self.details = details
        self.hidden = hidden
    }

    var usage: String {
        var parts = ["responsys-etl [GLOBAL OPTIONS]", name]
        parts += arguments.map { $0.hasSuffix("?") ? "[\($0.dropLast())]" : $0 }
        parts += options.map { option in option.value.map { "[\(option.name) \($0)]" } ?? "[\(option.name)]" }
        return parts.joined(separator: " ")
    }
}

/// Every command of DESIGN.md's contract.
public enum CommandTable {
    public static let globalOptions: [OptionSpec] = [
        OptionSpec(name: "--config", value: "FILE", help: "configuration file (default: responsys-etl.toml)"),
        OptionSpec(name: "--log-level", value: "LEVEL", help: "debug, info, warn or error (default: info)"),
        OptionSpec(name: "--log-format", value: "FORMAT", help: "text or json (default: text)"),
        OptionSpec(name: "--help", value: nil, help: "show help (also after a command)"),
    ]

    public static let commands: [CommandSpec] = [
        CommandSpec(
            "run", "start a run of WORKFLOW, or resume its unfinished run; all stages",
            arguments: ["WORKFLOW"],
            options: [
                OptionSpec(name: "--dry-run", value: nil, help: "stop before load: nothing is sent or loaded")
            ],
            details: """
                A run that stopped (crash, outage, failed stage) is resumed by the next `run`: finished stages
                are skipped, unfinished ones continue from their per-item progress.
                """),
        CommandSpec(
            "stage", "run one stage of a run (default: the latest run)",
            arguments: ["WORKFLOW", "STAGE"],
            options: [
                OptionSpec(name: "--run", value: "ID", help: "the run id, e.g. 20261204T150000Z"),
                OptionSpec(
                    name: "--force", value: nil,
                    help: "clear the stage and the stages after it, then run it again"),
                OptionSpec(
                    name: "--resend-unknown", value: nil,
                    help: "export-campaign load: send again chunks whose outcome is unknown"),
            ],
            details: "STAGE is extract, decrypt (import-events only), transform or load."),
        CommandSpec(
            "status", "show runs, their stages, counts and failures",
            arguments: ["WORKFLOW?"],
            options: [OptionSpec(name: "--json", value: nil, help: "print JSON for scripts")]),
        CommandSpec(
            "check", "validate the config, reach SFTP / REST, load keys; change nothing",
            arguments: ["WORKFLOW?"]),
        CommandSpec(
            "clean", "remove finished runs",
            options: [
                OptionSpec(name: "--older-than", value: "DURATION", help: "e.g. 12h, 7d, 2w (default: 7d)")
            ],
            details: "The newest run of each workflow and unfinished runs are always kept."),
        CommandSpec("version", "print the version"),
        CommandSpec("help", "show help for a command", arguments: ["COMMAND?"]),
        CommandSpec(
            "sample-data", "write the demo's sample Responsys files and users table", arguments: ["FOLDER"],
            options: [OptionSpec(name: "--warehouse", value: "PATH", help: "also write the users table into PATH")],
            hidden: true),
    ]

    public static func command(named name: String) -> CommandSpec? {
        commands.first { $0.name == name }
    }
}
