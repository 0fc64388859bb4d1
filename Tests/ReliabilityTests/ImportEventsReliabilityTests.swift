import Core
import Foundation
import TestSupport
import Testing
import Warehouse

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// import-events under SIGKILL and a cut SFTP session: the built executable against a real sshd, resumed
/// after every interruption; at the end the SQLite events are exactly the expected set and the ledger holds
/// every remote file once. The long version (bench/reliability.sh) sets `RETL_LONG_RELIABILITY=1`.
@Suite(.serialized) struct ImportEventsReliabilityTests {
    @Test func sigkillAtRandomMomentsThenResumeImportsEveryEventOnce() throws {
        let settings = ReliabilitySettings.current
        let scenario = try ImportScenario(
            label: "reliability-import", count: settings.importFiles, rows: { settings.rowsPerFile + ($0 * 37) % 900 })
        var loop = KillLoop(
            stages: ["extract", "decrypt", "transform", "load"], runsPath: scenario.runsPath, seed: settings.seed,
            maxDelay: settings.maxDelay)
        var kills = 0
        var landed: [String: Int] = [:]
        var round = 0
        while true {
            round += 1
            let outcome = try loop.run(kills: settings.killsPerRound) { label in
                try scenario.start("round\(round)-\(label)")
            }
            kills += outcome.kills
            landed.merge(outcome.landed, uniquingKeysWith: +)
            // After the kills, a run that is left alone finishes the import.
            let final =
                try outcome.finished
                ?? ToolRun.complete(
                    ["run", "events"], in: scenario.folder.path, environment: scenario.environment,
                    logs: scenario.folder.file("logs/round\(round)-final"))
            #expect(final.exitStatus == 0, "round \(round): exit \(final.exitStatus ?? -1): \(final.stderr)")
            let roundProblems = try scenario.problems()
            #expect(roundProblems.isEmpty, "round \(round), seed \(settings.seed): \(roundProblems)")
            if kills >= settings.totalKills || !roundProblems.isEmpty { break }
            // The next hour: more files on the server.
            try scenario.addFiles(
                count: max(2, settings.importFiles / 4), rows: { settings.rowsPerFile - ($0 * 53) % 700 })
        }

        // Nothing is left to import: another run takes no file and the events stay the same.
        let again = try ToolRun.complete(
            ["run", "events"], in: scenario.folder.path, environment: scenario.environment,
            logs: scenario.folder.file("logs/again"))
        #expect(again.exitStatus == 0, "\(again.stderr)")
        #expect(again.stdout.contains("files=0"), "\(again.stdout)")
        let problems = try scenario.problems()
        #expect(problems.isEmpty, "\(problems)")
        ReliabilityTable.record(scenario: "import-events sigkill", kills: kills, landed: landed, ok: problems.isEmpty)
    }

    @Test func sshSessionKilledMidDownloadResumesToIdenticalBytes() throws {
        // One big file with few events (a padded column), so the download takes long enough to be cut.
        let scenario = try ImportScenario(
            label: "reliability-sftp-cut", count: 1, rows: { _ in 12_000 }, padding: 3_000)
        let remoteFile = scenario.remote + "/" + scenario.remoteNames[0]
        let size = try #require(try Files.size(remoteFile))
        let extract = scenario.runsPath
        let first = try scenario.start("cut")

        // Freeze the tool as soon as a partial download exists, cut every SSH session, then let it go on.
        var partial: Int64 = -1
        while !first.hasExited {
            if let run = try? Files.list(extract).first,
                let length = try? Files.size(extract + "/" + run + "/extract/" + scenario.remoteNames[0] + ".part"),
                length > 0
            {
                kill(first.pid, SIGSTOP)
                let part = extract + "/" + run + "/extract/" + scenario.remoteNames[0] + ".part"
                partial = (try? Files.size(part)) ?? -1
                scenario.server.killSessions()
                kill(first.pid, SIGCONT)
                break
            }
            usleep(500)
        }
        let status = first.wait()
        try #require(partial > 0 && partial < size, "the download was not caught in the middle (\(partial) of \(size))")
        // A cut connection is a clear failure: a temporary outage (75) or a failed stage (1), naming the file.
        #expect(status == 75 || status == 1, "exit \(status): \(first.stderr)")
        #expect(first.stderr.contains(scenario.remoteNames[0]), "\(first.stderr)")

        let second = try ToolRun.complete(
            ["run", "events"], in: scenario.folder.path, environment: scenario.environment,
            logs: scenario.folder.file("logs/resume"))
        #expect(second.exitStatus == 0, "\(second.stderr)")
        let run = try #require(try Files.list(extract).first)
        let local = extract + "/" + run + "/extract/" + scenario.remoteNames[0]
        let localDigest = try Files.digest(local).sha256
        #expect(localDigest == (try Files.digest(remoteFile).sha256))
        // The item record of the download says where it resumed.
        let items = extract + "/" + run + "/extract/_items"
        let notes = try Files.list(items).compactMap { name in
            (try JSONSerialization.jsonObject(with: try Files.read(items + "/" + name)) as? [String: Any])?["notes"]
                as? [String: String]
        }
        let resumedFrom = notes.compactMap { $0["resumed_from"].flatMap(Int64.init) }
        #expect(resumedFrom.count == 1 && resumedFrom[0] > 0, "resumed_from: \(resumedFrom)")
        let problems = try scenario.problems()
        #expect(problems.isEmpty, "\(problems)")
        ReliabilityTable.record(
            scenario: "import-events sshd cut", kills: 1, landed: ["extract": 1], ok: problems.isEmpty)

        // The check itself bites: one event lost, or one stored twice under another id, is reported.
        let database = try SQLiteDatabase(path: scenario.databasePath)
        try database.execute("DELETE FROM responsys_events WHERE source_line = 7")
        #expect(try scenario.problems().contains { $0.contains("events") })
        try database.execute(
            "INSERT INTO responsys_events SELECT 'x' || event_id, stream, event_type, channel, account_id, list_id, "
                + "riid, customer_id, email, event_captured_at, event_stored_at, campaign_id, launch_id, source_file, "
                + "8, payload FROM responsys_events WHERE source_line = 9")
        #expect(try scenario.problems().contains { $0.contains("events") })
    }
}
