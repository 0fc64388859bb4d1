import Core
import Foundation
import TestSupport
import Testing

/// The command line as a user meets it: the built executable, real config files, real exit statuses.
@Suite struct CommandLineTests {
    let folder: TemporaryFolder

    init() throws { folder = try TemporaryFolder("cli") }

    private func tool(_ arguments: [String], environment: [String: String] = [:]) throws -> ToolProcess.Result {
        try ToolProcess.run("responsys-etl", arguments, in: folder.path, environment: environment)
    }

    @Test func helpForTheToolAndEveryCommandExitsZero() throws {
        let main = try tool(["--help"])
        #expect(main.status == 0)
        for command in ["run", "stage", "status", "check", "clean", "version"] {
            #expect(main.stdout.contains("  \(command)"))
            let help = try tool([command, "--help"])
            #expect(help.status == 0, "\(command) --help")
            #expect(help.stdout.hasPrefix("Usage: responsys-etl [GLOBAL OPTIONS] \(command)"))
        }
        #expect(try tool(["help", "stage"]).stdout.contains("--resend-unknown"))
    }

    @Test func versionPrintsOnStdout() throws {
        let result = try tool(["version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("responsys-etl "))
    }

    @Test func usageMistakesExitTwoAndNameTheToken() throws {
        let unknown = try tool(["frobnicate"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown command 'frobnicate'"))
        let option = try tool(["status", "--jsn"])
        #expect(option.status == 2)
        #expect(option.stderr.contains("--jsn"))
        let missing = try tool(["run"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("WORKFLOW"))
        let level = try tool(["--log-level", "loud", "version"])
        #expect(level.status == 2)
    }

    @Test func aMissingConfigExitsTwoAndMentionsTheFlag() throws {
        let result = try tool(["status"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("responsys-etl.toml"))
    }

    @Test func aWrongTypeIsReportedWithFileLineAndKey() throws {
        try folder.write(
            "bad.toml", Fixtures.config(replacing: "stable_seconds = 5", with: "stable_seconds = \"soon\""))
        let result = try tool(["--config", "bad.toml", "check"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bad.toml:"))
        #expect(result.stderr.contains("stable_seconds"))
        #expect(result.stderr.contains(":\(Fixtures.line(of: "stable_seconds", in: Fixtures.config())):"))
    }

    @Test func anUnknownKeyIsReportedWithItsLine() throws {
        try folder.write("bad.toml", Fixtures.config(replacing: "pattern = \"*.txt*\"", with: "patern = \"*.txt*\""))
        let result = try tool(["--config", "bad.toml", "check"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("patern"))
        #expect(result.stderr.contains(":\(Fixtures.line(of: "pattern", in: Fixtures.config())):"))
    }

    @Test func anInlinePasswordIsRefusedWithoutEchoingIt() throws {
        try folder.write(
            "bad.toml",
            Fixtures.config(replacing: "password_env = \"RESPONSYS_PASSWORD\"", with: "password = \"Sup3rS3cret!\""))
        let result = try tool(["--config", "bad.toml", "check"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("password"))
        #expect(result.stderr.contains(":\(Fixtures.line(of: "password_env", in: Fixtures.config())):"))
        #expect(!result.stderr.contains("Sup3rS3cret!"))
        #expect(!result.stdout.contains("Sup3rS3cret!"))
    }

    @Test func statusJSONParsesWhenThereAreNoRuns() throws {
        try folder.write("responsys-etl.toml", Fixtures.config())
        let result = try tool(["status", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let workflows = try #require(object?["workflows"] as? [[String: Any]])
        #expect(workflows.compactMap { $0["name"] as? String }.sorted() == ["events", "newsletter", "welcome"])
    }

    /// With `--log-format json` (the systemd unit, the CronJob) the final error is a JSON log line too, so a
    /// collector parses every line of stderr.
    @Test func jsonLogsReportTheFatalErrorAsAJSONLine() throws {
        try folder.write("responsys-etl.toml", Fixtures.config())
        let missingSecret = try tool(
            ["--log-format", "json", "run", "welcome"], environment: ["RESPONSYS_PASSWORD": ""])
        #expect(missingSecret.status == 2)
        let secretLine = try lastJSONLine(missingSecret.stderr)
        #expect(secretLine["level"] as? String == "error")
        #expect(secretLine["msg"] as? String == "command failed")
        #expect((secretLine["error"] as? String)?.contains("RESPONSYS_PASSWORD") == true, "\(secretLine)")
        #expect((secretLine["remedy"] as? String)?.contains("export RESPONSYS_PASSWORD") == true, "\(secretLine)")
        #expect(secretLine["exit_status"] as? Int == 2)

        let usage = try tool(["--log-format=json", "frobnicate"])
        #expect(usage.status == 2)
        let usageLine = try lastJSONLine(usage.stderr)
        #expect(usageLine["level"] as? String == "error")
        #expect((usageLine["error"] as? String)?.contains("unknown command 'frobnicate'") == true, "\(usageLine)")

        let text = try tool(["frobnicate"])
        #expect(text.stderr.hasPrefix("responsys-etl: error: unknown command 'frobnicate'"))
    }

    /// Every line of `stderr` is a JSON object; returns the last one.
    private func lastJSONLine(_ stderr: String) throws -> [String: Any] {
        let lines = stderr.split(separator: "\n")
        #expect(!lines.isEmpty, "nothing on stderr")
        var last: [String: Any] = [:]
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            last = try #require(object, "not a JSON line: \(line)")
        }
        return last
    }

    @Test func cleanRejectsABadDuration() throws {
        try folder.write("responsys-etl.toml", Fixtures.config())
        let result = try tool(["clean", "--older-than", "soon"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("soon"))
    }
}
