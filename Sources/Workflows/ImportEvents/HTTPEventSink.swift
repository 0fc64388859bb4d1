import Config
import Core
import Foundation
import HTTP
import Records
import Warehouse

/// The `http` sink: POSTs the events to a collector as NDJSON batches of `batch_size` lines, with the API
/// key in the configured header. 5xx answers and connection failures are retried with backoff (a batch is
/// safe to repeat: the collector gets `_event_id` to deduplicate on); a 4xx answer fails the stage.
final class HTTPEventSink: EventSink {
    let settings: HTTPSinkConfig
    let apiKey: String
    let logger: Logger
    let client: HTTPClient
    /// Attempts per batch before the outage is reported (exit status 75).
    static let attempts = 5

    init(settings: HTTPSinkConfig, apiKey: String, logger: Logger) throws {
        self.settings = settings
        self.apiKey = apiKey
        self.logger = logger
        self.client = try HTTPClient()
    }

    func load(ndjsonFile: String, sourceName: String) throws -> LoadCounts {
        let reader = try NDJSONLineReader(path: ndjsonFile)
        var batch = Data()
        var lines = 0
        var sent = 0
        while let line = try reader.nextLine() {
            batch.append(contentsOf: line.bindMemory(to: UInt8.self))
            batch.append(0x0A)
            lines += 1
            if lines == settings.batchSize {
                try post(batch, lines: lines, source: sourceName)
                sent += lines
                batch.removeAll(keepingCapacity: true)
                lines = 0
            }
        }
        if lines > 0 {
            try post(batch, lines: lines, source: sourceName)
            sent += lines
        }
        // The collector deduplicates by _event_id; from here every event counts as stored.
        return LoadCounts(inserted: sent, alreadyPresent: 0)
    }

    private func post(_ body: Data, lines: Int, source: String) throws {
        let request = HTTPRequest(
            method: "POST", url: settings.url,
            headers: [(settings.header, apiKey), ("Content-Type", "application/x-ndjson")], body: body)
        var delay = 0.5
        for attempt in 1...HTTPEventSink.attempts {
            do {
                let response = try client.send(request)
                switch response.status {
                case 200..<300:
                    return
                case 400..<500:
                    throw ETLError(
                        .failed,
                        "the collector \(request.target) refused a batch of \(source) with HTTP \(response.status)",
                        underlying: String(decoding: response.body.prefix(300), as: UTF8.self),
                        remedy: "check `url`, the API key and the collector's logs")
                default:
                    logger.warn("collector error; retrying", ["status": response.status, "attempt": attempt])
                }
            } catch let error as HTTPError where error.exitStatus == .temporaryFailure {
                logger.warn("collector unreachable; retrying", ["error": error.description, "attempt": attempt])
            }
            if attempt < HTTPEventSink.attempts {
                Thread.sleep(forTimeInterval: delay * Double.random(in: 0.8...1.2))
                delay *= 2
            }
        }
        throw ETLError(
            .transient,
            "the collector \(request.target) did not accept a batch of \(source) after "
                + "\(HTTPEventSink.attempts) attempts", remedy: "the next run retries; check the collector")
    }
}
