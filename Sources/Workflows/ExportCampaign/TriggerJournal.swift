import Core
import Foundation
import Staging

/// The at-most-once journal of Merge Trigger Email requests, in the workflow's `state/` (not in the run's
/// load folder, so clearing the load folder with `stage … --force` can never cause a second send).
///
/// One file per trigger request, `state/triggers/<run id>/<request file>`, written atomically and synced
/// (file and folder) at each step: `sending` before the request leaves, then `sent` with the answer,
/// `unknown` when the client could not learn the outcome, or `refused` when Responsys refused the whole
/// request (nothing was sent, so it may go again). A request found in `sending` or `unknown` may have
/// reached Responsys: it is never sent again unless the operator asks (`--resend-unknown`).
struct TriggerJournal {
    enum State: String, Codable {
        case sending, sent, unknown, refused
    }

    struct Entry: Codable {
        var run: String
        var file: String
        var chunk: Int
        var state: State
        var attempts: Int
        var emails: [String]
        var reason: String?
        var receipt: Receipt?
        var updatedAt: Date
    }

    let folder: String
    let run: String

    /// The folder is named by the run id and a random name kept in the run's folder (outside its stage
    /// folders, so clearing a stage keeps it): a run folder removed by hand and a later run that gets the
    /// same id (same second) never share a journal.
    init(area: WorkflowArea, run: RunFolder) throws {
        self.run = run.id.text
        folder = area.statePath + "/triggers/" + (try TriggerJournal.folderName(run))
    }

    static let journalIDName = "trigger-journal-id"

    static func folderName(_ run: RunFolder) throws -> String {
        let path = run.path + "/" + journalIDName
        if let data = try? Data(contentsOf: URL(fileURLWithPath: path)) {
            let id = String(decoding: data, as: UTF8.self)
            if !id.isEmpty && id.allSatisfy({ $0.isHexDigit || $0 == "-" }) { return run.id.text + "." + id }
        }
        let id = UUID().uuidString
        try Files.writeAtomically(Data(id.utf8), to: path)
        return run.id.text + "." + id
    }

    func path(_ file: String) -> String { folder + "/" + file }

    func entry(_ file: String) throws -> Entry? {
        let path = path(file)
        guard Files.exists(path) else { return nil }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(Entry.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ExportError(
                .badPlan, "the trigger journal \(path) cannot be read", underlying: String(describing: error),
                remedy: "it records whether emails went out; restore it, or check in Responsys and remove it")
        }
    }

    /// Writes the entry durably (fsync of the file and of its folder) before returning.
    func write(_ entry: Entry) throws {
        if !Files.isDirectory(folder) {
            // A new folder's own name must be on disk too before its first entry counts.
            try Files.makeDirectory(folder)
            let triggers = (folder as NSString).deletingLastPathComponent
            Files.syncDirectory(triggers)
            Files.syncDirectory((triggers as NSString).deletingLastPathComponent)
        }
        let encoder = Receipt.encoder()
        encoder.dateEncodingStrategy = .iso8601
        try Files.writeAtomically(try encoder.encode(entry), to: path(entry.file))
    }

    static let stateUpdatedName = "_state-updated"

    /// Marks this run's journal as taken into the delivered state (written after the state update). A run
    /// that sent no trigger has no journal folder and gets none.
    func markStateUpdated() throws {
        guard Files.isDirectory(folder) else { return }
        try Files.writeAtomically(Data(), to: folder + "/" + TriggerJournal.stateUpdatedName)
    }

    /// The recipients of triggers that may have gone out in runs other than `run` whose delivered state was
    /// never written (a run folder deleted while stuck, say): their emails are not in the state, so a new
    /// diff would find them entered again. The transform leaves them out, so nobody gets the email twice.
    static func heldBack(area: WorkflowArea, except run: RunFolder) throws -> Set<String> {
        let root = area.statePath + "/triggers"
        guard Files.isDirectory(root) else { return [] }
        let own = try folderName(run)
        var emails: Set<String> = []
        for name in try Files.list(root) where name != own && !name.hasPrefix(".") {
            guard Files.isDirectory(root + "/" + name) else { continue }
            let folder = root + "/" + name
            guard !Files.exists(folder + "/" + stateUpdatedName) else { continue }
            let journal = TriggerJournal(folder: folder, run: name)
            for file in try Files.list(folder) where file.hasSuffix(".json") && !file.hasPrefix(".") {
                guard let entry = try journal.entry(file), entry.state != .refused else { continue }
                emails.formUnion(entry.emails)
            }
        }
        return emails
    }

    /// The trigger requests of runs still in `runs/` whose outcome nobody knows: journaled `sending` (the
    /// process died with the request in flight) or `unknown` (the answer was lost). `status` reports them
    /// even before the next run has looked at them; the journal of a run folder the operator removed (the
    /// way to give up on them) is left out, its recipients are held back by every later transform.
    static func inDoubt(area: WorkflowArea) throws -> [TriggersInDoubt] {
        let root = area.statePath + "/triggers"
        guard Files.isDirectory(root) else { return [] }
        var found: [TriggersInDoubt] = []
        for name in try Files.list(root).sorted() where !name.hasPrefix(".") {
            let folder = root + "/" + name
            guard Files.isDirectory(folder), let run = try runFolder(ofJournal: name, in: area) else { continue }
            let journal = TriggerJournal(folder: folder, run: name)
            var requests: [String] = []
            var emails: [String] = []
            for file in try Files.list(folder).sorted() where file.hasSuffix(".json") && !file.hasPrefix(".") {
                guard let entry = try journal.entry(file), entry.state == .sending || entry.state == .unknown else {
                    continue
                }
                requests.append(file)
                emails += entry.emails
            }
            if !requests.isEmpty {
                found.append(TriggersInDoubt(run: run, journal: folder, requests: requests, recipients: emails))
            }
        }
        return found
    }

    /// The id of the run folder a journal folder (`<run id>.<random id>`) belongs to, nil when that run
    /// folder is gone (or is another run that got the same id).
    static func runFolder(ofJournal name: String, in area: WorkflowArea) throws -> String? {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, RunID(text: parts[0]) != nil else { return nil }
        let idFile = area.runsPath + "/" + parts[0] + "/" + journalIDName
        guard let data = try? Files.read(idFile), String(decoding: data, as: UTF8.self) == parts[1] else {
            return nil
        }
        return parts[0]
    }

    fileprivate init(folder: String, run: String) {
        self.folder = folder
        self.run = run
    }
}

/// Trigger requests of one run whose outcome is unknown, and their recipients (see `TriggerJournal.inDoubt`).
public struct TriggersInDoubt: Sendable, Equatable {
    public let run: String
    /// The journal folder, `state/triggers/<run id>.<random id>`.
    public let journal: String
    /// The request files, e.g. `000001-03-trigger.json`.
    public let requests: [String]
    public let recipients: [String]

}

/// The trigger journals of a workflow, for `status`, `clean` and `stage --force`.
public enum TriggerJournals {
    /// Refuses `stage extract|transform --force` on a run whose load sent trigger emails and wrote the
    /// delivered state: the stage would diff against the state that run itself wrote, find nobody entered,
    /// and the run would then record that it emailed nobody. Nothing would be sent twice, but the run's
    /// history would be false. `load --force` stays allowed: it rebuilds its receipts from the journal.
    public static func refuseForcedRebuild(of stage: StageName, run: RunFolder, in area: WorkflowArea) throws {
        guard stage < .load else { return }
        let idFile = run.path + "/" + TriggerJournal.journalIDName
        guard let data = try? Files.read(idFile) else { return }
        let folder = area.statePath + "/triggers/" + run.id.text + "." + String(decoding: data, as: UTF8.self)
        guard Files.exists(folder + "/" + TriggerJournal.stateUpdatedName) else { return }
        let journal = TriggerJournal(folder: folder, run: run.id.text)
        var emailed = 0
        for file in try Files.list(folder) where file.hasSuffix(".json") && !file.hasPrefix(".") {
            guard let entry = try journal.entry(file), entry.state == .sent else { continue }
            emailed += entry.receipt?.succeeded ?? entry.emails.count
        }
        guard emailed > 0 else { return }
        // A newer run delivered since: this run's load cannot run again (it would resend older merges).
        let reload =
            DeliveredStateUpdate.lastDelivery(area).map { $0 > run.id } == true
            ? ""
            : "`responsys-etl stage \(area.name) load --run \(run.id) --force` re-checks its load without emailing "
                + "anyone again (its list and table merges go again, with the same data); "
        throw ETLError(
            .usage,
            "run \(run.id) of \(area.name) already emailed \(emailed) members and wrote the delivered state; "
                + "\(stage.rawValue) --force would diff against that state and record the run as having emailed "
                + "nobody",
            remedy: "its staged files and history stay as they are; \(reload)new members go with the next "
                + "`responsys-etl run \(area.name)`")
    }

    /// Every run of the workflow whose journal holds triggers of unknown outcome.
    public static func inDoubt(in area: WorkflowArea) throws -> [TriggersInDoubt] {
        try TriggerJournal.inDoubt(area: area)
    }

    /// Removes the journals that nothing needs any more: their run folder is gone (`clean` removed it), the
    /// run's delivered state was written after its load (so the state remembers who got the email), and
    /// every entry is settled (`sent`, or `refused`: nothing went out). A journal holding an entry of unknown
    /// outcome, or one never folded into the state (a run removed by hand while stuck), is kept: it is what
    /// stops a second email. Returns the names of the removed journal folders.
    public static func prune(in area: WorkflowArea) throws -> [String] {
        let root = area.statePath + "/triggers"
        guard Files.isDirectory(root) else { return [] }
        var removed: [String] = []
        for name in try Files.list(root).sorted() where !name.hasPrefix(".") {
            let folder = root + "/" + name
            guard Files.isDirectory(folder), try TriggerJournal.runFolder(ofJournal: name, in: area) == nil,
                Files.exists(folder + "/" + TriggerJournal.stateUpdatedName)
            else { continue }
            let journal = TriggerJournal(folder: folder, run: name)
            let files = try Files.list(folder).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            let settled = try files.allSatisfy { file in
                guard let entry = try journal.entry(file) else { return false }
                return entry.state == .sent || entry.state == .refused
            }
            guard settled else { continue }
            try Files.remove(folder)
            removed.append(name)
        }
        if !removed.isEmpty { Files.syncDirectory(root) }
        return removed
    }
}
