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
            // The command line did not parse, but a collector still needs JSON if JSON was asked for.
            let format: LogFormat = ArgumentParser.requestsJSONLogs(arguments) ? .json : .text
            report(error, logger: Logger(format: format))
            return ExitStatus.usage.rawValue
        }
        if invocation.helpRequested || invocation.command == "help" {
            let topic = invocation.command == "help" ? invocation.arguments["COMMAND"] : invocation.command
            if let topic, !topic.isEmpty {
                guard let spec = CommandTable.command(named: topic) else {
                    report(
                        ETLError(.usage, "unknown command '\(topic)'"),
                        logger: Logger(level: invocation.logLevel, format: invocation.logFormat))
                    return ExitStatus.usage.rawValue
                }
                Output.write(HelpText.command(spec))
            } else {
                Output.write(HelpText.main)
            }
            return ExitStatus.success.rawValue
        }

        let logger = Logger(level: invocation.logLevel, format: invocation.logFormat)
        SignalHandling.install(logger: logger)
        do {
            let status = try Commands(invocation: invocation, environment: environment, logger: logger).run()
            return status.rawValue
        } catch {
            report(error, logger: logger)
            return exitStatus(of: error).rawValue
        }
    }

    static func exitStatus(of error: Error) -> ExitStatus {
        (error as? DiagnosedError)?.exitStatus ?? .stageFailed
    }

    /// The error, free of secrets, with its remedy when it has one: in text mode one line on stderr
    /// (`responsys-etl: error: …`), in JSON mode one log line at level error (fields `error`, `remedy`,
    /// `exit_status`), so a log collector parses it.
    static func report(_ error: Error, logger: Logger) {
        let redactor = logger.redactor
        let text = redactor.redact(String(describing: error))
        let remedy = (error as? DiagnosedError)?.remedy.map(redactor.redact)
        if logger.format == .json {
            let status = exitStatus(of: error).rawValue
            if let remedy {
                logger.error("command failed", ["error": text, "remedy": remedy, "exit_status": status])
            } else {
                logger.error("command failed", ["error": text, "exit_status": status])
            }
            return
        }
        var line = "responsys-etl: error: \(text)"
        if let remedy, !text.contains(remedy) { line += "\n  what to do: " + remedy }
        StandardErrorSink().write(line: line)
    }
}

/// Results go to stdout, nothing else does.
enum Output {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
