import Config
import Core
import Foundation
import Staging

/// `state/destination.json`: where the delivered state was delivered — the Responsys endpoint (instance or
/// base URL), the API user, the profile list and the extension tables. The delivered state describes what
/// *that* list holds; diffed against another list it would send only the changes, so a run whose config
/// points elsewhere is refused before the diff and before anything is sent.
///
/// Recorded with every delivery (a baseline included). A state written before this file existed has none:
/// it is taken as delivered to the current destination, which the next delivery records.
struct DeliveryDestination: Codable, Equatable {
    var endpoint: String
    var username: String
    var list: String
    var pets: [String]

    static let name = "destination.json"

    static func path(_ area: WorkflowArea) -> String { area.statePath + "/" + name }

    init(_ settings: ExportUsersConfig) {
        endpoint = settings.interact.baseURL ?? settings.interact.instance.map { "instance " + $0.rawValue } ?? ""
        username = settings.interact.username
        list = settings.list
        pets = [settings.userFieldsPET, settings.segmentsPET]
    }

    var text: String {
        "list \(list) (extension tables \(pets.joined(separator: ", "))) as \(username) at \(endpoint)"
    }

    static func recorded(_ area: WorkflowArea) throws -> DeliveryDestination? {
        let path = path(area)
        guard Files.exists(path) else { return nil }
        do {
            return try JSONDecoder().decode(
                DeliveryDestination.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ExportError(
                .destinationChanged, "cannot read \(path)", underlying: String(describing: error),
                remedy: "it is written by the load stage; if it was edited, restore it or remove it (the next "
                    + "delivery records the configured destination)",
                status: .usage)
        }
    }

    /// Refuses a config whose destination differs from the one the delivered state was delivered to. The
    /// run's extract is cleared too: whatever the user chooses, the next run reads the source again.
    func check(_ context: StageContext) throws {
        try check(context.area)
    }

    /// The same refusal for `check`, which has no run (its `redoFrom` is then left unused).
    func check(_ area: WorkflowArea) throws {
        guard let recorded = try Self.recorded(area),
            Files.exists(DeliveredStateUpdate.deliveredPath(area)),
            recorded != self
        else { return }
        let workflow = area.name
        throw ExportError(
            .destinationChanged,
            "workflow \(workflow) delivered its state (\(area.statePath)) to \(recorded.text), but its "
                + "config now sends to \(text); compared with that state, the new destination would get only "
                + "the changes, not its members; nothing was sent",
            remedy: "for a new destination, give the workflow a new name in the config (its own, empty state: "
                + "its first run delivers everyone, or records a baseline with existing_users = false), or move "
                + "\(area.statePath) aside to start this workflow over the same way; if it is the same "
                + "list reached another way (a new base_url or API user of the same account), remove "
                + "\(Self.path(area)) and the next delivery records the new destination",
            status: .usage, redoFrom: .extract)
    }

    func record(_ area: WorkflowArea) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try Files.writeAtomically(try encoder.encode(self), to: Self.path(area))
    }
}
