import Core
import Foundation
import HTTP
import Responsys

// ratelimit-bench: drives list merges through ResponsysClient against a running fake-responsys for a while
// and prints the calls per minute achieved against the configured limit. Started by bench/ratelimit.sh.
//
// ratelimit-bench --base-url URL --user NAME --password-env VAR --list LIST --limit N --seconds S [--in-flight N]

var options: [String: String] = [:]
var arguments = Array(CommandLine.arguments.dropFirst())
while arguments.count >= 2 {
    options[arguments.removeFirst()] = arguments.removeFirst()
}
guard let baseURL = options["--base-url"], let user = options["--user"], let list = options["--list"],
    let limit = options["--limit"].flatMap({ Int($0) }), let seconds = options["--seconds"].flatMap({ Double($0) }),
    let password = options["--password-env"].flatMap({ ProcessInfo.processInfo.environment[$0] })
else {
    FileHandle.standardError.write(
        Data(
            "usage: ratelimit-bench --base-url URL --user NAME --password-env VAR --list LIST --limit N --seconds S [--in-flight N]\n"
                .utf8))
    exit(2)
}

var limits = ResponsysLimits()
limits.perMinute = [.mergeListMembers: limit]
limits.maxInFlight = options["--in-flight"].flatMap { Int($0) } ?? 8
let client = try ResponsysClient(
    auth: ResponsysAuth(username: user, password: password, baseURL: baseURL), limits: limits,
    logger: Logger(level: .warn))
try client.login()

let start = monotonicSeconds()
let deadline = start + seconds
final class Counter: @unchecked Sendable {
    let lock = NSLock()
    var completed = 0
    var failed = 0
}
let counter = Counter()
// More slots than can ever be used; each thread stops taking work once the time is up.
let results = client.concurrently(Int(Double(limit) * seconds / 60 * 2) + 16) { index in
    guard monotonicSeconds() < deadline else { return }
    let body = ResponsysBody.listMerge(
        fieldNames: ["EMAIL_ADDRESS_"], records: [["bench\(index % 5000)@example.org"]], rule: MergeRule())
    let outcome = try client.mergeListMembers(list: list, body: body)
    if monotonicSeconds() <= deadline {
        counter.lock.withLock { outcome.succeeded == 1 ? (counter.completed += 1) : (counter.failed += 1) }
    }
}
let errors = results.compactMap { if case .failure(let error) = $0 { return error } else { return nil } }
let elapsed = min(monotonicSeconds(), deadline) - start
let perMinute = Double(counter.completed) / elapsed * 60
print(
    String(
        format:
            "achieved %.1f calls/min against a limit of %d/min (%.1f%%) over %.0f s; %d calls answered, %d failed records, %d errors",
        perMinute, limit, perMinute / Double(limit) * 100, elapsed, counter.completed, counter.failed, errors.count))
for error in errors.prefix(3) { print("error: \(error)") }
