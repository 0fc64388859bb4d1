import Core
import Foundation

/// `transform/payload/plan.json` as the load stage reads it: the request bodies in send order.
struct ExportPlan: Decodable, Sendable {
    struct Request: Decodable, Sendable {
        var file: String
        var kind: String
        var target: String
        var chunk: Int
        var method: String
        var path: String
        var list: String?
        var pet: String?
        var campaign: String?
        var records: Int
        var emails: [String]
    }

    var version: Int
    var workflow: String
    var requests: [Request]

    static let payloadFolder = "payload"
    static let planName = "payload/plan.json"

    static func read(from transform: String) throws -> ExportPlan {
        let path = transform + "/" + planName
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ExportError(
                .badPlan, "cannot read the plan \(path)", underlying: "\(error.localizedDescription)",
                remedy: "re-run the transform stage with --force")
        }
        do {
            let plan = try JSONDecoder().decode(ExportPlan.self, from: data)
            for request in plan.requests
            where request.records != request.emails.count || request.file.contains("/") || request.file.hasPrefix(".") {
                throw ExportError(.badPlan, "the plan \(path) lists a bad request \(request.file)")
            }
            return plan
        } catch let error as ExportError {
            throw error
        } catch {
            throw ExportError(
                .badPlan, "the plan \(path) is not a plan written by the transform stage",
                underlying: String(describing: error), remedy: "re-run the transform stage with --force")
        }
    }

    /// The requests grouped by chunk, chunks in plan order, requests of a chunk in file order.
    var chunks: [[Request]] {
        var groups: [[Request]] = []
        var index: [Int: Int] = [:]
        for request in requests {
            if let position = index[request.chunk] {
                groups[position].append(request)
            } else {
                index[request.chunk] = groups.count
                groups.append([request])
            }
        }
        return groups
    }
}
