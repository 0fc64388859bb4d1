import Audience
import Core
import Foundation
import Staging

/// The last step of both loads: the delivered snapshot in `state/delivered.ndjson` advances with this
/// run's successful deliveries. Resumable: the new state is written atomically, then the item "state" is
/// recorded; a crash between the two re-applies the same delivery to the new state, which leaves it
/// unchanged (members already in it are kept, failed ones stay as they were). `state/last-delivery.json`
/// names the run that wrote the state, so a forced load of an older run never rolls the state back.
enum DeliveredStateUpdate {
    static let deliveredName = "delivered.ndjson"
    static let lastDeliveryName = "last-delivery.json"
    static let itemKey = "state"

    struct LastDelivery: Codable {
        var run: String
    }

    static func deliveredPath(_ area: WorkflowArea) -> String { area.statePath + "/" + deliveredName }

    /// Refuses to load a run older than the run that last wrote the state: its requests would put older data
    /// back into Responsys, and its state would roll the newer one back. Called before anything is sent, and
    /// before a forced stage clears the run (`checkRerun`), so a finished run refused here stays finished.
    static func checkNotSuperseded(_ context: StageContext) throws {
        try checkNotSuperseded(context.run, in: context.area)
    }

    static func checkNotSuperseded(_ run: RunFolder, in area: WorkflowArea) throws {
        guard let lastRun = lastDelivery(area), lastRun > run.id else { return }
        // `run` resumes an unfinished run: one that can never load must be removed, or it blocks every run.
        let unfinished = run.record.finishedAt == nil
        throw ETLError(
            .usage,
            "run \(run.id) of \(area.name) is older than run \(lastRun), which already delivered; "
                + "loading it would send older data",
            remedy: unfinished
                ? "this run can never load; remove its folder \(run.path) (`run` resumes it otherwise), then "
                    + "start a new run: responsys-etl run \(area.name)"
                : "the run stays as it finished; newer data goes with a new run: responsys-etl run \(area.name)")
    }

    /// The run that last wrote the delivered state (`state/last-delivery.json`), nil when none did.
    static func lastDelivery(_ area: WorkflowArea) -> RunID? {
        let lastPath = area.statePath + "/" + lastDeliveryName
        guard
            let last = try? JSONDecoder().decode(
                LastDelivery.self, from: Data(contentsOf: URL(fileURLWithPath: lastPath)))
        else { return nil }
        return RunID(text: last.run)
    }

    /// Applies the delivery (or records the baseline) unless this run already did; returns the counts.
    static func apply(
        _ context: StageContext, snapshot: String, failedEmails: Set<String>, baseline: Bool,
        keepExited: Bool = false, destination: DeliveryDestination? = nil
    ) throws -> [String: Int] {
        if let done = try context.folder.finishedItem(itemKey) { return done.counts }
        let state = deliveredPath(context.area)
        try checkNotSuperseded(context)
        let lastPath = context.area.statePath + "/" + lastDeliveryName
        try Files.makeDirectory(context.area.statePath)
        try SourceFingerprint.forget(context.area)
        let counts: DeliveredCounts
        if baseline {
            counts = try DeliveredState.recordBaseline(current: snapshot, to: state)
        } else {
            // Members whose row the extract rejected keep their previous line (the diff did not exit them).
            let held = try HeldMembers.read(
                rejectsPath: context.run.stage(.extract).file(AudienceExtractStage.rejectsName))
            counts = try DeliveredState.applyDelivery(
                previous: state, current: snapshot, failedEmails: failedEmails, held: held, keepExited: keepExited,
                to: state)
        }
        try Files.writeAtomically(
            try JSONEncoder().encode(LastDelivery(run: context.run.id.text)), to: lastPath)
        try destination?.record(context.area)
        // A clean delivery makes the state equal to the source file's snapshot (see `SourceFingerprint`).
        if failedEmails.isEmpty, let extract = try context.run.stage(.extract).readMarker() {
            try SourceFingerprint.record(context.area, extractNotes: extract.notes)
        }
        TestCrashHook.point("after-state")
        let result = [
            "state_members": counts.members, "state_kept_after_failure": counts.keptAfterFailure,
            "state_dropped_after_failure": counts.droppedAfterFailure, "state_kept_held": counts.keptHeld,
            "state_kept_exited": counts.keptExited,
        ]
        try context.folder.recordItem(ItemRecord(key: itemKey, outputs: [], counts: result))
        context.logger.info(
            "delivered state updated",
            ["members": counts.members, "baseline": baseline, "retried_next_run": failedEmails.count])
        return result
    }
}
