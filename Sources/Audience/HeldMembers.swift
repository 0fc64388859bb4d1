import Core
import Foundation

/// Members whose source row was rejected for bad data while their email was valid ("held"): the extract
/// wrote their normalized email into the reject. A held member absent from the snapshot is not an exit —
/// the diff leaves them out of `exited.ndjson` and the delivered state keeps their previous line — so
/// nothing about them changes in Responsys until their row is fixed.
///
/// An email with both a rejected row and a valid row is in the snapshot: the valid row is the member's
/// data (as with any duplicate, the last valid row wins) and holding does not apply to it.
public enum HeldMembers {
    /// The emails named in an extract's `rejects.ndjson` (empty when the file does not exist).
    public static func read(rejectsPath: String) throws -> Set<String> {
        guard Files.exists(rejectsPath) else { return [] }
        let reader = try LineReader(path: rejectsPath)
        var emails: Set<String> = []
        while let line = try reader.next() {
            guard !line.isEmpty else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw AudienceError(
                    .badSnapshot, "\(rejectsPath) line \(reader.lineNumber) is not a reject line",
                    remedy: "rejects files are written by the extract stage; re-run it")
            }
            if let email = object["email"] as? String { emails.insert(email) }
        }
        return emails
    }
}
