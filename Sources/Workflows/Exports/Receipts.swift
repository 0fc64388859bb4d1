import Core
import Foundation
import Responsys
import Staging

/// What Responsys answered for one request of the plan, kept as `load/receipts/<request file>` and named
/// by the request's item record: a resumed load skips the requests that have one.
struct Receipt: Codable, Sendable {
    struct Record: Codable, Sendable {
        var email: String
        /// The RIID for a merged or deleted record, nil when it failed.
        var riid: String?
        var code: String?
        var message: String?
        var success: Bool
    }

    var file: String
    var kind: String
    var chunk: Int
    var records: [Record]
    /// For a trigger whose outcome is unknown: why.
    var unknownReason: String?

    var failures: [Record] { records.filter { !$0.success } }

    static let folder = "receipts"

    static func from(_ request: ExportPlan.Request, merge outcome: MergeOutcome) -> Receipt {
        var records: [Record] = []
        for (index, email) in request.emails.enumerated() {
            let answer = index < outcome.records.count ? outcome.records[index] : nil
            switch answer {
            case .riid(let riid):
                records.append(Record(email: email, riid: riid, code: nil, message: nil, success: true))
            case .failed(_, let code, let message):
                // Removing someone who is already gone from the list is what the delete wanted.
                let gone = request.kind == "list-delete" && message.lowercased().contains("no records found")
                records.append(Record(email: email, riid: nil, code: code, message: message, success: gone))
            case nil:
                records.append(
                    Record(
                        email: email, riid: nil, code: "NO_ANSWER", message: "no result for this record", success: false
                    ))
            }
        }
        return Receipt(file: request.file, kind: request.kind, chunk: request.chunk, records: records)
    }

    static func from(_ request: ExportPlan.Request, recipients: [RecipientOutcome]) -> Receipt {
        var records: [Record] = []
        for (index, email) in request.emails.enumerated() {
            let answer = recipients[index]
            records.append(
                Record(
                    email: email, riid: answer.success ? answer.recipientId.map(String.init) : nil,
                    code: answer.success ? nil : "TRIGGER_FAILED", message: answer.errorMessage, success: answer.success
                ))
        }
        return Receipt(file: request.file, kind: request.kind, chunk: request.chunk, records: records)
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
                counts: ["records": records.count, "failed": failures.count]))
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
                    + "\"code\":\(JSONText.quote(failure.code ?? "")),\"reason\":\(JSONText.quote(failure.message ?? ""))}\n"
                try writer.write(Data(line.utf8))
                count += 1
            }
        }
        return (try folder.publish(writer), count)
    }
}
