import Core
import Foundation
import TestSupport
import Testing

/// SIGTERM (systemd stop, Kubernetes) and SIGINT (Ctrl-C) against the built executable: one log line naming
/// the signal and the running stage, then the usual 143 or 130.
@Suite struct SignalTests {
    @Test(arguments: [(SIGTERM, "SIGTERM", 143, "text"), (SIGINT, "SIGINT", 130, "json")])
    func aSignalIsLoggedWithTheStageBeforeTheProcessStops(
        signal: Int32, name: String, status: Int32, format: String
    ) throws {
        let folder = try TemporaryFolder("signal")
        _ = try folder.write("responsys-etl.toml", Fixtures.config())
        try Files.makeDirectory(folder.file("exports"))
        _ = try folder.write(
            "exports/newsletter.csv",
            "email,first_name,last_name,city,newsletter,high_value\nann@example.org,Ann,Lee,Oslo,true,false\n")

        // The config's Responsys is 127.0.0.1:9, where nothing listens: the load stage retries its login for
        // several seconds, which is when the signal comes.
        let tool = try RunningTool(
            "responsys-etl", ["--log-format", format, "run", "newsletter"], in: folder.path,
            environment: ["RESPONSYS_PASSWORD": "signal-test-password"])
        _ = tool.waitForStderr(containing: "retrying")
        tool.send(signal)
        let (exited, exitStatus, text) = tool.finish()

        #expect(exited, "died of the signal without a word:\n\(text)")
        #expect(exitStatus == status, "\(text)")
        let last = try #require(text.split(separator: "\n").last.map(String.init))
        #expect(last.contains("stopping on signal"), "\(text)")
        if format == "json" {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
            #expect(object["signal"] as? String == name)
            #expect(object["stage"] as? String == "load")
            #expect(object["workflow"] as? String == "newsletter")
        } else {
            #expect(last.contains("signal=\(name)"), "\(last)")
            #expect(last.contains("workflow=newsletter"), "\(last)")
            #expect(last.contains("stage=load"), "\(last)")
        }
    }
}
