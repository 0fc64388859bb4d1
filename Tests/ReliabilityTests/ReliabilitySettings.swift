import Foundation

/// The size of the reliability scenarios. The short version runs in `./run.sh test`; `bench/reliability.sh`
/// sets `RETL_LONG_RELIABILITY=1` for the long one (at least 30 kills per workflow). Overrides:
/// `RETL_RELIABILITY_SEED`, `RETL_RELIABILITY_KILLS` (total per workflow), `RETL_RELIABILITY_FILES`,
/// `RETL_RELIABILITY_ROWS` (rows per import file).
struct ReliabilitySettings {
    var long: Bool
    var seed: UInt64
    var totalKills: Int
    var killsPerRound: Int
    var importFiles: Int
    /// Data rows per import file (about 200 bytes each).
    var rowsPerFile: Int
    var maxDelay: Double
    /// Rounds of the fault scenarios (each a change of the audience, run until it is delivered).
    var faultRounds: Int { long ? 4 : 2 }

    static var current: ReliabilitySettings {
        let environment = ProcessInfo.processInfo.environment
        let long = environment["RETL_LONG_RELIABILITY"] == "1"
        var settings = ReliabilitySettings(
            long: long, seed: 20_261_204, totalKills: long ? 30 : 6, killsPerRound: 3,
            importFiles: 20, rowsPerFile: 10_000, maxDelay: 0.4)
        if let seed = environment["RETL_RELIABILITY_SEED"].flatMap(UInt64.init) { settings.seed = seed }
        if let kills = environment["RETL_RELIABILITY_KILLS"].flatMap(Int.init), kills > 0 {
            settings.totalKills = kills
            settings.killsPerRound = min(settings.killsPerRound, kills)
        }
        if let files = environment["RETL_RELIABILITY_FILES"].flatMap(Int.init), files > 0 {
            settings.importFiles = files
        }
        if let rows = environment["RETL_RELIABILITY_ROWS"].flatMap(Int.init), rows > 1_000 {
            settings.rowsPerFile = rows
        }
        return settings
    }
}

/// One line per scenario for bench/reliability.sh's table: printed, and appended to `RETL_RELIABILITY_TABLE`
/// when that names a file.
enum ReliabilityTable {
    static func record(scenario: String, kills: Int, landed: [String: Int], ok: Bool, detail: String = "") {
        let spread = landed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let line =
            "\(scenario)\t\(kills)\t\(spread.isEmpty ? "-" : spread)\t\(ok ? "OK" : "FAIL")\t\(detail)\n"
        print("reliability: " + line, terminator: "")
        guard let path = ProcessInfo.processInfo.environment["RETL_RELIABILITY_TABLE"], !path.isEmpty,
            let handle = FileHandle(forWritingAtPath: path) ?? Self.create(path)
        else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data(line.utf8))
    }

    private static func create(_ path: String) -> FileHandle? {
        FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }
}
