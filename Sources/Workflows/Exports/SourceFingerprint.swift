import Audience
import Config
import Core
import Foundation
import Staging

/// `state/source.json`: the SHA-256 of the source file whose snapshot *is* the delivered state, and the
/// settings that shaped that snapshot. Written only after a delivery without any refused record or
/// rejected row, removed before any other state update: while it matches, the source file's snapshot
/// equals the delivered state, so extracting it again can only give an empty diff.
struct SourceFingerprint: Codable, Equatable {
    var sha256: String
    var size: Int64
    /// `email_field`, `additional_fields` and `audience_memberships` and the format, which shape the snapshot.
    var settings: String

    static let name = "source.json"
    static let noteKey = "source_sha256"

    static func path(_ area: WorkflowArea) -> String { area.statePath + "/" + name }

    static func settings(_ source: AudienceSource, _ options: AudienceSnapshotOptions) -> String {
        var format = ""
        if case .file(_, let chosen, let gzip) = source { format = chosen.rawValue + (gzip ? "+gzip" : "") }
        return ([format, options.emailField] + options.additionalFields + ["|"] + options.audienceMemberships)
            .joined(separator: "\u{1F}")
    }

    static func recorded(_ area: WorkflowArea) -> SourceFingerprint? {
        try? JSONDecoder().decode(SourceFingerprint.self, from: Data(contentsOf: URL(fileURLWithPath: path(area))))
    }

    /// Removed before the delivered state changes, so a crash can never leave it describing another state.
    static func forget(_ area: WorkflowArea) throws {
        try Files.remove(path(area))
    }

    /// Recorded after a clean delivery, from the fingerprint the extract put in its notes.
    static func record(_ area: WorkflowArea, extractNotes: [String: String]) throws {
        guard let text = extractNotes[noteKey], let data = text.data(using: .utf8),
            let fingerprint = try? JSONDecoder().decode(SourceFingerprint.self, from: data)
        else { return }
        try Files.writeAtomically(try JSONEncoder().encode(fingerprint), to: path(area))
    }

    /// Size and modification time: a cheap sign that a file changed between two moments.
    static func stamp(_ path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(size)/\(modified)"
    }
}
