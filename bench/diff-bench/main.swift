// diff-bench: generates two audience snapshots and times the extract + transform of export-users on
// them. Driven by bench/diff.sh, which runs DuckDB on the same files for comparison.
//
//   diff-bench generate PROFILES PREVIOUS CURRENT   previous = a delivered state (sorted, canonical);
//                                                    current = a raw NDJSON source, shuffled
//   diff-bench run PREVIOUS CURRENT WORKFOLDER [BUDGET_MB]
import Audience
import Core
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

/// A fixed 64-bit mix, so a profile's data depends only on its id and the files are reproducible.
func mix(_ value: UInt64) -> UInt64 {
    var x = value &+ 0x9E37_79B9_7F4A_7C15
    x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
    x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
    return x ^ (x >> 31)
}

let firstNames = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "François", "Grace", "Håkon", "Isabel", "José", "Zoë", "Li"]
let lastNames = ["Smith", "Müller", "García", "Rossi", "Nowak", "Okafor", "Tanaka", "Dubois", "Kowalski", "Brown"]
let cities = ["Paris", "Berlin", "São Paulo", "Kraków", "Lagos", "Osaka", "Toronto", "Madrid", "Oslo", "Austin"]
let audienceNames = ["newsletter", "high_value", "cart_abandoner", "vip"]
let fields = ["first_name", "last_name", "city"]

struct Profile {
    var email: String
    var values: [String]
    var audiences: [String]
}

/// Profile `id` as it was delivered (`changed` false) or as it is now.
func profile(_ id: Int, changed: Bool) -> Profile {
    let h = mix(UInt64(id))
    var city = cities[Int(h % 10)]
    if changed { city = cities[Int((h % 10 + 1) % 10)] }
    var audiences: [String] = []
    for (bit, name) in audienceNames.enumerated() where (h >> (8 + bit)) & 3 == 0 || (bit == 0 && (h >> 20) & 1 == 0) {
        audiences.append(name)
    }
    return Profile(
        email: String(format: "u%09d@example%d.com", id, Int(h >> 40) % 50),
        values: [firstNames[Int((h >> 16) % 12)], lastNames[Int((h >> 24) % 10)], city], audiences: audiences)
}

/// 1% of the delivered profiles exit, 2% change a field, and new profiles make up 1% more.
func exits(_ id: Int) -> Bool { mix(UInt64(id) ^ 0xABCD) % 100 == 0 }
func changes(_ id: Int) -> Bool { mix(UInt64(id) ^ 0x1234) % 50 == 0 }

func writer(_ path: String) -> FileHandle {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    guard let handle = FileHandle(forWritingAtPath: path) else { fail("cannot write \(path)") }
    return handle
}

func generate(profiles: Int, previousPath: String, currentPath: String) {
    // The delivered state: canonical lines, sorted (ids are fixed-width, so id order is email order).
    let previous = writer(previousPath)
    var buffer = ""
    for id in 0..<profiles {
        let p = profile(id, changed: false)
        var fieldMap: [String: String] = [:]
        for (index, name) in fields.enumerated() { fieldMap[name] = p.values[index] }
        buffer += AudienceMember(email: p.email, fields: fieldMap, audiences: Set(p.audiences)).snapshotLine + "\n"
        if buffer.utf8.count > 1 << 20 {
            previous.write(Data(buffer.utf8))
            buffer = ""
        }
    }
    previous.write(Data(buffer.utf8))
    try? previous.close()

    // The source: raw rows in a shuffled order (a linear permutation), some emails in mixed case with
    // spaces, 0.1% duplicated rows, and a key the workflow ignores.
    let total = profiles + profiles / 100
    var step = 2_654_435_761 % total
    while gcd(step, total) != 1 { step += 1 }
    let current = writer(currentPath)
    buffer = ""
    for index in 0..<total {
        let id = (index &* step &+ 12345) % total
        if id < profiles && exits(id) { continue }
        let p = profile(id, changed: id < profiles && changes(id))
        var email = p.email
        if id % 37 == 0 { email = " " + email.uppercased() + " " }
        var line = "{\"email\":\(JSONText.quote(email))"
        for (name, value) in zip(fields, p.values) { line += ",\(JSONText.quote(name)):\(JSONText.quote(value))" }
        line += ",\"audiences\":[" + p.audiences.map { JSONText.quote($0) }.joined(separator: ",") + "]"
        line += ",\"score\":\(id % 1000)}\n"
        buffer += line
        if id % 1000 == 7 { buffer += line }
        if buffer.utf8.count > 1 << 20 {
            current.write(Data(buffer.utf8))
            buffer = ""
        }
    }
    current.write(Data(buffer.utf8))
    try? current.close()
}

func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

func run(previous: String, current: String, work: String, budgetMB: Int) throws {
    let options = AudienceSnapshotOptions(additionalFields: fields, audienceMemberships: audienceNames)
    var started = monotonicSeconds()
    func lap(_ name: String) {
        let now = monotonicSeconds()
        FileHandle.standardError.write(Data(String(format: "  %-10@ %6.2f s\n", name, now - started).utf8))
        started = now
    }
    let extract = try AudienceExtract.fromFile(
        current, format: .ndjson, options: options, snapshotPath: work + "/extract/snapshot.ndjson",
        rejectsPath: work + "/extract/rejects.ndjson", temporaryFolder: work + "/extract/tmp",
        memoryBudgetBytes: budgetMB << 20)
    lap("extract")
    let diff = try SnapshotDiff.run(
        current: work + "/extract/snapshot.ndjson", previous: previous, firstRun: .sendEveryone,
        outputFolder: work + "/transform")
    lap("diff")
    var payloadOptions = ExportUsersPayloadOptions(
        list: "MASTER_LIST", additionalFields: fields, audienceMemberships: audienceNames)
    payloadOptions.force = true
    let payload = try PayloadWriter.writeExportUsers(
        diff: diff, options: payloadOptions, to: work + "/transform/payload")
    lap("payloads")
    print(
        "ours: rows=\(extract.read.rows) rejected=\(extract.read.rejected) members=\(extract.snapshot.members)"
            + " duplicates=\(extract.snapshot.duplicates) runs=\(extract.snapshot.runs)"
            + " entered=\(diff.counts.entered) exited=\(diff.counts.exited) changed=\(diff.counts.changed)"
            + " unchanged=\(diff.counts.unchanged) chunks=\(payload.chunks)"
            + " requests=\(payload.requests.values.reduce(0, +))")
}

let arguments = CommandLine.arguments
switch arguments.dropFirst().first {
case "generate" where arguments.count == 5:
    guard let profiles = Int(arguments[2]) else { fail("PROFILES must be a number") }
    generate(profiles: profiles, previousPath: arguments[3], currentPath: arguments[4])
case "run" where arguments.count >= 5:
    do {
        try run(
            previous: arguments[2], current: arguments[3], work: arguments[4],
            budgetMB: arguments.count > 5 ? Int(arguments[5]) ?? 64 : 64)
    } catch {
        fail("diff-bench: \(error)")
    }
default:
    fail("usage: diff-bench generate PROFILES PREVIOUS CURRENT | run PREVIOUS CURRENT WORKFOLDER [BUDGET_MB]")
}
