import Core
import Foundation

/// A fresh folder per test under the system's temporary folder, removed when the value is dropped.
/// Tests never write fixtures into the working copy.
public final class TemporaryFolder: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "test") throws {
        let template = NSTemporaryDirectory() + "/retl-\(label)-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let created = mkdtemp(&bytes) else { throw ETLError(.io, "mkdtemp failed for \(template)") }
        path = String(cString: created)
    }

    deinit {
        if ProcessInfo.processInfo.environment["RETL_KEEP_TEST_FILES"] == nil {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    public func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try Files.makeDirectory((target as NSString).deletingLastPathComponent)
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        return target
    }
}
