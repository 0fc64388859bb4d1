import Core
import Foundation
import SFTP

/// The ledger of remote files already imported: `state/ledger.json`. A file enters it only after the load
/// stage has stored its events, so a crash anywhere before that imports it again (idempotently).
struct ImportLedger {
    let path: String

    init(statePath: String) { path = statePath + "/ledger.json" }

    func entries() throws -> [LedgerEntry] {
        guard Files.exists(path) else { return [] }
        do {
            return try JSONDecoder().decode([LedgerEntry].self, from: try Files.read(path))
        } catch let error as ETLError {
            throw error
        } catch {
            throw ETLError(
                .corruptStaging, "the import ledger \(path) is not valid JSON", underlying: "\(error)",
                remedy: "restore it from a backup; deleting it makes the next run import every remote file again")
        }
    }

    /// Adds entries (replacing any of the same name) and rewrites the file atomically.
    func add(_ new: [LedgerEntry]) throws {
        guard !new.isEmpty else { return }
        var byName = Dictionary(try entries().map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        for entry in new { byName[entry.name] = entry }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try Files.writeAtomically(try encoder.encode(byName.values.sorted { $0.name < $1.name }), to: path)
    }
}
