import Core
import Foundation

/// The `responsys-etl` program: parses the command line, runs the command, prints errors once, and
/// turns every outcome into the documented exit status.
public enum CommandLineTool {
    public static let version = "0.1.0"

    public static func main(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment)
        -> Int32
    {
        let invocation: Invocation
        do {
            invocation = try ArgumentParser.parse(arguments)
        } catch {
            report(error, redactor: Redactor())
            return ExitStatus.usage.rawValue
        }
        if invocation.helpRequested || invocation.command == "help" {
            let topic = invocation.command == "help" ? invocation.arguments["COMMAND"] : invocation.command
            if let topic, !topic.isEmpty {
                guard let spec = CommandTable.command(named: topic) else {
                    report(ETLError(.usage, "unknown command '\(topic)'"), redactor: Redactor())
                    return ExitStatus.usage.rawValue
                }
                Output.write(HelpText.command(spec))
            } else {
                Output.write(HelpText.main)
            }
            return ExitStatus.success.rawValue
        }

        let logger = Logger(level: invocation.logLevel, format: invocation.logFormat)
        do {
            let status = try Commands(invocation: invocation, environment: environment, logger: logger).run()
            return status.rawValue
        } catch {
            report(error, redactor: logger.redactor)
            return (error as? DiagnosedError)?.exitStatus.rawValue ?? ExitStatus.stageFailed.rawValue
        }
    }

    /// One line on stderr: the error, already free of secrets, and its remedy when it has one.
    static func report(_ error: Error, redactor: Redactor) {
        let text = redactor.redact(String(describing: error))
        var line = "responsys-etl: error: \(text)"
        if let diagnosed = error as? DiagnosedError, let remedy = diagnosed.remedy, !text.contains(remedy) {
            line += "\n  what to do: " + redactor.redact(remedy)
        }
        StandardErrorSink().write(line: line)
    }
}

/// Results go to stdout, nothing else does.
enum Output {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
