import Core
import Foundation
import Responsys
import Staging

/// What Responsys answered for one request of the plan, kept as `load/receipts/<request file>` and named
/// by the request's item record: a resumed load skips the requests that have one.
struct Receipt: Codable, Sendable {
    /// A record Responsys refused: the member's email and Responsys's code and reason.
    struct Failure: Codable, Sendable {
        var email: String
        var code: String
        var message: String
    }

    var file: String
    var kind: String
    var chunk: Int
    /// Records sent, and how many Responsys accepted (merged, deleted or emailed).
    var records: Int
    var succeeded: Int
    /// Only the refused records are kept one by one: a first run of millions of members would otherwise
    /// keep millions of lines of "merged".
    var failures: [Failure]

    static let folder = "receipts"

    static func from(_ request: ExportPlan.Request, merge outcome: MergeOutcome) -> Receipt {
        var failures: [Failure] = []
        for (index, email) in request.emails.enumerated() {
            switch index < outcome.records.count ? outcome.records[index] : nil {
            case .riid:
                break
            case .failed(_, let code, let message):
                // Removing someone who is already gone from the list is what the delete wanted. Responsys says so
                // as "Record not Found in the List." (list) or "NO records found for id" (extension table); a
                // delete repeated after its answer was lost meets the first.
                let text = message.lowercased()
                let gone =
                    request.kind == "list-delete"
                    && (text.contains("no records found") || text.contains("record not found"))
                if !gone { failures.append(Failure(email: email, code: code, message: message)) }
            case nil:
                failures.append(Failure(email: email, code: "NO_ANSWER", message: "no result for this record"))
            }
        }
        return Receipt(
            file: request.file, kind: request.kind, chunk: request.chunk, records: request.records,
            succeeded: request.records - failures.count, failures: failures)
    }

    static func from(_ request: ExportPlan.Request, recipients: [RecipientOutcome]) -> Receipt {
        var failures: [Failure] = []
        for (index, email) in request.emails.enumerated() where !recipients[index].success {
            failures.append(
                Failure(
                    email: email, code: "TRIGGER_FAILED",
                    message: recipients[index].errorMessage ?? "Responsys answered success:false"))
        }
        return Receipt(
            file: request.file, kind: request.kind, chunk: request.chunk, records: request.records,
            succeeded: request.records - failures.count, failures: failures)
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// Publishes the receipt in the load folder and records the request as finished.
    func record(in folder: StageFolder) throws {
        let name = Receipt.folder + "/" + file
        try Files.makeDirectory(folder.file(Receipt.folder))
        let writer = try folder.createOutput(name)
        try writer.write(try Receipt.encoder().encode(self))
        let output = try folder.publish(writer, source: file)
        try folder.recordItem(
            ItemRecord(
                key: file, outputs: [output],
                counts: ["records": records, "failed": failures.count]))
    }

    /// The receipt of a finished request, or nil.
    static func finished(_ file: String, in folder: StageFolder) throws -> Receipt? {
        guard try folder.finishedItem(file) != nil else { return nil }
        return try read(folder.file(Receipt.folder + "/" + file))
    }

    static func read(_ path: String) throws -> Receipt {
        do {
            return try JSONDecoder().decode(Receipt.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ExportError(.badPlan, "the receipt \(path) cannot be read", underlying: String(describing: error))
        }
    }
}

/// `load/rejects.ndjson`: one line per record Responsys refused, `{"email","request","code","reason"}`.
enum LoadRejects {
    static let name = "rejects.ndjson"

    static func write(_ receipts: [Receipt], in folder: StageFolder) throws -> (StageOutput, Int) {
        let writer = try folder.createOutput(name)
        var count = 0
        for receipt in receipts {
            for failure in receipt.failures {
                let line =
                    "{\"email\":\(JSONText.quote(failure.email)),\"request\":\(JSONText.quote(receipt.file)),"
                    + "\"code\":\(JSONText.quote(failure.code)),\"reason\":\(JSONText.quote(failure.message))}\n"
                try writer.write(Data(line.utf8))
                count += 1
            }
        }
        return (try folder.publish(writer), count)
    }
}
