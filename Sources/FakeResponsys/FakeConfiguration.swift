import Foundation

/// A profile extension table the fake knows: its parent list and its columns (upper case).
public struct FakePET: Sendable, Equatable {
    public var list: String
    public var name: String
    public var columns: [String]

    public init(list: String, name: String, columns: [String]) {
        self.list = list
        self.name = name
        self.columns = columns.map { $0.uppercased() }
    }
}

/// Faults and limits that can change while the fake runs (`POST /_fake/faults` or `updateFaults`).
public struct FakeFaults: Sendable {
    /// Delay before every answer.
    public var latencyMs: Int = 0
    /// Probability that a call answers 503 without doing anything.
    public var failRate: Double = 0
    /// Probability that a call is carried out, then its connection closed without an answer.
    public var dropRate: Double = 0
    /// Calls per window and API function; nil means unlimited.
    public var limitPerWindow: Int?
    /// The length of the rate-limit window: 60 s as in Responsys, shorter in tests.
    public var limitWindowSeconds: Double = 60
    /// The HTTP status of `API_LIMIT_EXCEEDED`: Oracle documents both 401 and 400.
    public var throttleStatus: Int = 401
    /// The next N calls answer 503 (counted before `failRate`).
    public var failNext: Int = 0
    /// The next N calls are carried out, then dropped.
    public var dropNext: Int = 0
    /// The next N calls answer `API_LIMIT_EXCEEDED` whatever the counts.
    public var throttleNext: Int = 0
    /// The next N calls answer `INTERNAL_CAPACITY_LIMIT_EXCEEDED`.
    public var capacityNext: Int = 0
    /// Seconds a token stays valid.
    public var tokenTTL: Double = 7200

    public init() {}
}

/// Everything the fake is started with.
public struct FakeResponsysConfiguration: Sendable {
    public var port: UInt16 = 0
    /// user name → password
    public var users: [String: String] = [:]
    public var lists: [String] = []
    public var pets: [FakePET] = []
    /// campaign name → the list it sends to
    public var campaigns: [String: String] = [:]
    /// Appends one JSON line per call when set.
    public var journalPath: String?
    /// What login answers as `endPoint`; `{port}` is replaced by the bound port. A path in it (e.g.
    /// `http://localhost:{port}/pod7`) becomes a prefix that every later call must carry.
    public var endPoint: String = "http://127.0.0.1:{port}"
    public var faults = FakeFaults()
    public var seed: UInt64 = 1
    /// `--help` or `-h` was given: print `usage` and exit 0 instead of serving.
    public var helpRequested = false

    public init() {}

    /// What `fake-responsys --help` prints.
    public static let usage = """
        Usage: fake-responsys [OPTIONS]

        A local stand-in for the Oracle Responsys REST API, for tests and the demo. It listens on 127.0.0.1,
        prints the bound port as the first line on stdout, then serves until stopped (SIGTERM, SIGINT).

        Options:
          --port N                    port on 127.0.0.1 (default 0: any free port)
          --user NAME:PASSWORD        an account login accepts (repeatable)
          --list NAME                 a profile list (repeatable)
          --pet LIST/PET:COL1,COL2    a profile extension table of LIST with its columns (repeatable)
          --campaign NAME:LIST        a campaign that sends to LIST (repeatable)
          --journal FILE              append one JSON line per call to FILE
          --endpoint URL              the endPoint login answers (default http://127.0.0.1:{port}); a path in
                                      it becomes a prefix every later call must carry
          --latency-ms N              delay before every answer
          --token-ttl SECONDS         how long a token stays valid (default 7200)
          --limit-per-minute N        calls per window and API function (default unlimited)
          --limit-window-seconds S    the length of that window (default 60)
          --throttle-status N         HTTP status of API_LIMIT_EXCEEDED: 401 (default) or 400
          --fail-rate P               probability (0…1) that a call answers 503 without doing anything
          --drop-rate P               probability (0…1) that a call is carried out, then its connection closed
          --seed N                    seed of the fault randomness (default 1)
          -h, --help                  print this help and exit

        Control endpoints (no login):
          GET  /_fake/state           lists, profile extension rows and sent emails, as JSON
          GET  /_fake/stats           call, throttle, failure, drop and login counts, as JSON
          POST /_fake/faults          change faults while running: a JSON object with any of latencyMs,
                                      failRate, dropRate, limitPerMinute, limitWindowSeconds, throttleStatus,
                                      failNext, dropNext, throttleNext, capacityNext, tokenTTL, expireTokens

        """

    /// Parses the command line of `fake-responsys` (without the program name).
    public static func parse(_ arguments: [String]) throws -> FakeResponsysConfiguration {
        var config = FakeResponsysConfiguration()
        var index = 0
        func value(_ option: String) throws -> String {
            index += 1
            guard index < arguments.count else { throw FakeServerError("\(option) needs a value") }
            return arguments[index]
        }
        func number<T: LosslessStringConvertible>(_ option: String, _: T.Type) throws -> T {
            let text = try value(option)
            guard let parsed = T(text) else { throw FakeServerError("\(option): '\(text)' is not a number") }
            return parsed
        }
        while index < arguments.count {
            let option = arguments[index]
            switch option {
            case "--help", "-h": config.helpRequested = true
            case "--port": config.port = try number(option, UInt16.self)
            case "--user":
                let text = try value(option)
                guard let colon = text.firstIndex(of: ":") else { throw FakeServerError("--user wants NAME:PASSWORD") }
                config.users[String(text[..<colon])] = String(text[text.index(after: colon)...])
            case "--list": config.lists.append(try value(option))
            case "--pet":
                let text = try value(option)
                let parts = text.split(separator: ":", maxSplits: 1)
                let names = parts.first?.split(separator: "/") ?? []
                guard parts.count == 2, names.count == 2 else {
                    throw FakeServerError("--pet wants LIST/PET:COL1,COL2")
                }
                config.pets.append(
                    FakePET(
                        list: String(names[0]), name: String(names[1]),
                        columns: parts[1].split(separator: ",").map(String.init)))
            case "--campaign":
                let parts = try value(option).split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { throw FakeServerError("--campaign wants NAME:LIST") }
                config.campaigns[String(parts[0])] = String(parts[1])
            case "--journal": config.journalPath = try value(option)
            case "--endpoint": config.endPoint = try value(option)
            case "--latency-ms": config.faults.latencyMs = try number(option, Int.self)
            case "--token-ttl": config.faults.tokenTTL = try number(option, Double.self)
            case "--limit-per-minute": config.faults.limitPerWindow = try number(option, Int.self)
            case "--limit-window-seconds": config.faults.limitWindowSeconds = try number(option, Double.self)
            case "--throttle-status": config.faults.throttleStatus = try number(option, Int.self)
            case "--fail-rate": config.faults.failRate = try number(option, Double.self)
            case "--drop-rate": config.faults.dropRate = try number(option, Double.self)
            case "--seed": config.seed = try number(option, UInt64.self)
            default: throw FakeServerError("unknown option \(option) (fake-responsys --help lists the options)")
            }
            index += 1
        }
        let faults = config.faults
        guard faults.latencyMs >= 0, faults.tokenTTL >= 0, faults.limitWindowSeconds > 0,
            (faults.limitPerWindow ?? 1) > 0, (0...1).contains(faults.failRate), (0...1).contains(faults.dropRate)
        else {
            throw FakeServerError("latency, TTL and limits must be positive; rates between 0 and 1")
        }
        for pet in config.pets where !config.lists.contains(pet.list) { config.lists.append(pet.list) }
        for list in config.campaigns.values where !config.lists.contains(list) { config.lists.append(list) }
        return config
    }
}

/// Counters for tests and the benchmark (`GET /_fake/stats`).
public struct FakeStats: Sendable {
    /// Accepted calls per API function.
    public var calls: [String: Int] = [:]
    /// `API_LIMIT_EXCEEDED` answers.
    public var throttled = 0
    public var capacityRejected = 0
    public var failed = 0
    public var dropped = 0
    public var logins = 0
    public var invalidToken = 0
    /// The most accepted calls of one function seen inside one limit window.
    public var maxInWindow: [String: Int] = [:]
}
