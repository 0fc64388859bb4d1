import Core
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// SIGKILLs a workflow at seeded random moments, starting it again after each kill, until a start finishes
/// on its own or the kills are spent.
///
/// Each start aims at one stage, picked at random among those its run has not finished: it waits until that
/// stage (or a later one) is running in this start (its `attempts` in `run.json` went up), then waits a
/// random 0…`maxDelay` seconds more and kills. Where the kill landed is read back from `run.json`.
struct KillLoop {
    let stages: [String]
    let probe: RunProbe
    var maxDelay: Double
    var generator: SeededGenerator
    /// The longest each stage was seen to take (from `run.json`): a kill aimed at a stage waits a fraction
    /// of that, so short stages (a decrypt of hard links) are hit as well as long ones.
    private var typical: [String: Double] = [:]

    struct Outcome {
        var kills = 0
        /// Stage (or "startup"/"finished") → kills that landed there.
        var landed: [String: Int] = [:]
        /// The start that ended on its own, if one did.
        var finished: ToolRun?
        /// Starts that ended on their own with a status other than the accepted ones.
        var unexpected: [String] = []
    }

    init(stages: [String], runsPath: String, seed: UInt64, maxDelay: Double) {
        self.stages = stages
        self.probe = RunProbe(runsPath: runsPath)
        self.maxDelay = maxDelay
        self.generator = SeededGenerator(seed: seed)
    }

    /// Runs until a start ends on its own or `kills` kills were made. `start(label)` starts the workflow.
    mutating func run(kills: Int, start: (String) throws -> ToolRun) throws -> Outcome {
        var outcome = Outcome()
        var attempt = 0
        while outcome.kills < kills {
            attempt += 1
            let before = probe.attempts()
            // Aim at a stage this run has not finished yet, so every stage gets its share of kills; the delay
            // is skewed towards the start of the stage (u²), where short stages live.
            let first = stages.firstIndex { !probe.finishedStages().contains($0) } ?? 0
            let target = Int.random(in: first..<stages.count, using: &generator)
            let unit = Double.random(in: 0...1, using: &generator)
            let delay = min(maxDelay, typical[stages[target]] ?? maxDelay / 4) * unit * unit
            let process = try start("attempt-\(attempt)")

            // Wait for the target stage, or any later one, to start in this process.
            while !process.hasExited {
                let started = probe.attempts().started(since: before)
                if stages.indices.contains(where: { $0 >= target && started.contains(stages[$0]) }) { break }
                usleep(2_000)
            }
            let deadline = monotonicSeconds() + delay
            while !process.hasExited && monotonicSeconds() < deadline { usleep(2_000) }

            let killed = process.kill()
            typical.merge(probe.durations(), uniquingKeysWith: max)
            if killed {
                outcome.kills += 1
                outcome.landed[landing(since: before), default: 0] += 1
            } else {
                outcome.finished = process
                return outcome
            }
        }
        return outcome
    }

    /// The stage running in the killed process: one whose attempts went up and that is still "running".
    private func landing(since before: [String: Int]) -> String {
        let stage = probe.currentStage()
        let started = probe.attempts().started(since: before)
        if stage == "finished" && !started.isEmpty { return "finished" }
        guard stages.contains(stage), started.contains(stage) else {
            return "startup"
        }
        return stage
    }
}

extension RunProbe {
    /// How long each finished stage of the newest run took (`durationSeconds`).
    func durations() -> [String: Double] {
        var result: [String: Double] = [:]
        for stage in latestRecord()?["stages"] as? [[String: Any]] ?? [] {
            if let name = stage["name"] as? String, let seconds = stage["durationSeconds"] as? Double {
                result[name] = seconds
            }
        }
        return result
    }

    /// The stages the newest run recorded as done; none when it finished (the next start begins a new run).
    func finishedStages() -> Set<String> {
        guard let record = latestRecord(), record["finishedAt"] == nil else { return [] }
        let stages = record["stages"] as? [[String: Any]] ?? []
        return Set(stages.filter { $0["state"] as? String == "done" }.compactMap { $0["name"] as? String })
    }

    /// How often each stage of the newest run was started; keyed also by the run id (`run:<id>` → 0), so
    /// counts of different runs never compare as the same run's.
    func attempts() -> [String: Int] {
        guard let record = latestRecord() else { return [:] }
        var result: [String: Int] = ["run:" + (record["run"] as? String ?? "?"): 0]
        for stage in record["stages"] as? [[String: Any]] ?? [] {
            if let name = stage["name"] as? String { result[name] = stage["attempts"] as? Int ?? 0 }
        }
        return result
    }
}

extension [String: Int] {
    /// The stages started since `before`: a stage of a newer run counts from zero.
    func started(since before: [String: Int]) -> Set<String> {
        let sameRun = keys.contains { $0.hasPrefix("run:") && before[$0] != nil }
        return Set(filter { !$0.key.hasPrefix("run:") && $0.value > (sameRun ? before[$0.key, default: 0] : 0) }.keys)
    }
}
