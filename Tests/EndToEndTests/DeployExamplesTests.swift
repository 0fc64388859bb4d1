import Foundation
import TestSupport
import Testing

/// The examples in docs/deploy are copied as they are: every environment variable they set must be one the
/// tool reads, i.e. one the documented config names in a `*_env` key (or one the scheduler itself uses).
@Suite struct DeployExamplesTests {
    private static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/deploy").path

    /// The variables the documented config reads secrets from: the values of its `*_env` keys.
    private static let variablesTheToolReads: Set<String> = {
        var names: Set<String> = []
        for line in Fixtures.config().split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[0].hasSuffix("_env") else { continue }
            names.insert(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        }
        return names
    }()

    @Test func theCrontabSetsOnlyVariablesThatAreRead() throws {
        let text = try String(contentsOfFile: Self.docs + "/crontab", encoding: .utf8)
        let cronOwn: Set<String> = ["SHELL", "PATH", "MAILTO", "HOME", "CRON_TZ", "LOGNAME"]
        let assigned = text.split(separator: "\n").compactMap { line -> String? in
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "="), !line.contains(" ") else { return nil }
            return String(line[..<equals])
        }
        #expect(assigned.contains("SHELL"), "the assignments were not found: \(assigned)")
        for name in assigned where !cronOwn.contains(name) {
            #expect(Self.variablesTheToolReads.contains(name), "crontab sets \(name), which responsys-etl never reads")
        }
    }

    @Test func theCronJobSetsOnlyVariablesThatAreRead() throws {
        let text = try String(contentsOfFile: Self.docs + "/cronjob.yaml", encoding: .utf8)
        let names = text.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("- name: ") else { return nil }
            return String(trimmed.dropFirst("- name: ".count))
        }
        #expect(!names.isEmpty)
        for name in names where name != "responsys-etl" && name != "staging" && name != "config" {
            #expect(Self.variablesTheToolReads.contains(name), "cronjob.yaml sets \(name), which is never read")
        }
    }
}
