/// The text of `--help`, made from the command table.
public enum HelpText {
    public static var main: String {
        var text = """
            responsys-etl: batch ETL between your data and Oracle Responsys.

            Usage: responsys-etl [--config FILE] [--log-level LEVEL] [--log-format FORMAT] COMMAND

            Commands:

            """
        for command in CommandTable.commands where !command.hidden {
            text += "  " + command.name.padding(toLength: 10, withPad: " ", startingAt: 0) + command.summary + "\n"
        }
        text += "\nGlobal options:\n" + describe(CommandTable.globalOptions)
        text += """

            Exit status: 0 done; 1 a stage failed; 2 bad usage or config; 3 finished with rejected records;
            75 another run holds the lock or a transient outage outlasted the retries.
            Results go to stdout; logs go to stderr. `responsys-etl COMMAND --help` describes a command.

            """
        return text
    }

    public static func command(_ spec: CommandSpec) -> String {
        var text = "Usage: \(spec.usage)\n\n\(spec.summary)\n"
        if !spec.details.isEmpty { text += "\n" + spec.details + "\n" }
        if !spec.options.isEmpty { text += "\nOptions:\n" + describe(spec.options) }
        text += "\nGlobal options:\n" + describe(CommandTable.globalOptions)
        return text
    }

    private static func describe(_ options: [OptionSpec]) -> String {
        options.map { option in
            let left = option.value.map { "\(option.name) \($0)" } ?? option.name
            return "  " + left.padding(toLength: 24, withPad: " ", startingAt: 0) + option.help + "\n"
        }.joined()
    }
}
