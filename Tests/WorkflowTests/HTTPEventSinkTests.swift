import Config
import Core
import FakeResponsys
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Workflows

/// The `http` sink against a real HTTP server on 127.0.0.1 standing in for a collector.
@Suite struct HTTPEventSinkTests {
    let folder: TemporaryFolder
    let events: String

    init() throws {
        folder = try TemporaryFolder("http-sink")
        events = try folder.write(
            "events.ndjson",
            (1...5).map { "{\"_event_id\":\"e\($0)\",\"event_type\":\"OPEN\"}" }.joined(separator: "\n") + "\n")
    }

    private func sink(port: UInt16, batchSize: Int) throws -> HTTPEventSink {
        let settings = HTTPSinkConfig(
            url: "http://127.0.0.1:\(port)/ingest", apiKey: .environment("COLLECTOR_KEY"), header: "X-API-Key",
            batchSize: batchSize)
        return try HTTPEventSink(settings: settings, apiKey: "key-123", logger: .silent)
    }

    @Test func postsEveryEventInBatchesWithTheKeyAndRetriesA5xx() throws {
        let received = Mutex<[ServerRequest]>([])
        let server = TinyHTTPServer { request in
            let count = received.withLock { list -> Int in
                list.append(request)
                return list.count
            }
            // The first attempt fails as an overloaded collector would; the batch must be sent again.
            if count == 1 { return .respond(status: 503, contentType: "text/plain", body: Data("busy".utf8)) }
            return .respond(status: 202, contentType: "application/json", body: Data("{}".utf8))
        }
        let port = try server.start(port: 0)
        defer { server.stop() }

        let counts = try sink(port: port, batchSize: 2).load(ndjsonFile: events, sourceName: "1_OPEN_x.txt")
        #expect(counts.inserted == 5)
        let requests = received.withLock { $0 }
        #expect(requests.count == 4)  // 503, then batches of 2, 2 and 1
        #expect(requests.allSatisfy { $0.method == "POST" && $0.path == "/ingest" })
        #expect(requests.allSatisfy { $0.headers["x-api-key"] == "key-123" || $0.headers["X-API-Key"] == "key-123" })
        let delivered = requests.dropFirst().map { String(decoding: $0.body, as: UTF8.self) }.joined()
        #expect(
            delivered.split(separator: "\n").map(String.init)
                == (1...5).map {
                    "{\"_event_id\":\"e\($0)\",\"event_type\":\"OPEN\"}"
                })
    }

    @Test func aClientErrorFailsTheLoadWithoutRetrying() throws {
        let calls = Mutex(0)
        let server = TinyHTTPServer { _ in
            calls.withLock { $0 += 1 }
            return .respond(status: 401, contentType: "text/plain", body: Data("bad key".utf8))
        }
        let port = try server.start(port: 0)
        defer { server.stop() }
        do {
            _ = try sink(port: port, batchSize: 10).load(ndjsonFile: events, sourceName: "1_OPEN_x.txt")
            Issue.record("a 401 was taken as success")
        } catch let error as ETLError {
            #expect(error.code == .failed)
            #expect(error.description.contains("401"))
            #expect(!error.description.contains("key-123"))
        }
        #expect(calls.withLock { $0 } == 1)
    }
}
