import Archive
import Config
import Core
import Foundation
import PGP
import Staging

/// import-events, stage 2: every downloaded file becomes one or more plain CSV files in
/// `decrypt/<download>.d/`: PGP removed, archives unpacked, plain files passed through. The decryptor (and
/// its gpg-agent) exists only when a PGP file is found, so an expired key never blocks plain files.
struct DecryptStage: Stage {
    let name = StageName.decrypt
    let settings: ImportEventsConfig
    let pgpPassphrase: String?
    let gnupgHome: String

    func run(_ context: StageContext) throws -> StageResult {
        guard let input = context.input, let marker = try input.readMarker() else {
            preconditionFailure("the runner starts decrypt only after extract finished")
        }
        let unwrapper = Unwrapper(logger: context.logger)
        var decryptor: PGPDecryptor?
        defer { decryptor?.stopAgent() }
        func pgp() throws -> PGPDecryptor? {
            guard let keyFile = settings.sftp.pgpPrivateKeyFile else { return nil }
            if let decryptor { return decryptor }
            let made = try PGPDecryptor(
                homeDirectory: gnupgHome, privateKeyFile: keyFile, passphrase: pgpPassphrase,
                allowNoMDC: settings.sftp.allowNoMDC, logger: context.logger)
            decryptor = made
            return made
        }

        var outputs: [StageOutput] = []
        var signatures: [String: String] = [:]
        for downloaded in marker.outputs where downloaded.name != ExtractStage.selectionName {
            if let done = try context.folder.finishedItem(downloaded.name) {
                outputs += done.outputs
                signatures.merge(done.notes) { first, _ in first }
                continue
            }
            // Each download unpacks into a folder of its own, so two archives holding members of the same
            // name can never overwrite each other's output.
            let subfolder = downloaded.name + ".d"
            try Files.remove(context.folder.file(subfolder))
            let needsKey = FileKind.of(input.file(downloaded.name)) == .pgp
            let files: [UnwrappedFile]
            do {
                files = try unwrapper.unwrap(
                    input: input.file(downloaded.name), originalName: downloaded.name,
                    into: context.folder.file(subfolder), pgp: needsKey ? try pgp() : nil)
            } catch let error as DiagnosedError where Self.rejectsFile(error) {
                // One bad file must not hold back the others: it is rejected with its reason, stays in
                // extract/ for inspection, and the run ends with exit status 3.
                try Files.remove(context.folder.file(subfolder))
                try context.folder.recordItem(
                    ItemRecord(key: downloaded.name, outputs: [], notes: [Self.rejectedNote: error.description]))
                context.logger.warn("file rejected", ["file": downloaded.name, "reason": error.description])
                continue
            }
            let described = try files.map { file in
                try context.folder.describe(subfolder + "/" + file.name, source: downloaded.name)
            }
            var notes: [String: String] = [:]
            for file in files {
                if let status = file.signatureStatus { notes["signature:" + file.name] = status }
            }
            try context.folder.recordItem(ItemRecord(key: downloaded.name, outputs: described, notes: notes))
            context.logger.info(
                "unwrapped", ["file": downloaded.name, "outputs": files.map(\.name).joined(separator: ",")])
            signatures.merge(notes) { first, _ in first }
            outputs += described
        }
        let rejected = try writeRejects(in: context.folder)
        outputs.append(rejected.output)
        signatures = signatures.filter { $0.key != Self.rejectedNote }
        return StageResult(
            outputs: outputs,
            counts: [
                "files_in": marker.outputs.count - 1, "files_out": outputs.count - 1,
                "files_rejected": rejected.count,
            ],
            notes: signatures, exitStatus: rejected.count > 0 ? .finishedWithRejects : .success)
    }

    static let rejectsName = "rejects.ndjson"
    static let rejectedNote = "rejected"

    /// Problems of one file (not PGP, for another key, damaged, an unsafe archive) reject that file; problems
    /// of the setup (passphrase, expired or missing key, gpg itself) fail the stage, since every file needs
    /// the fix.
    static func rejectsFile(_ error: DiagnosedError) -> Bool {
        if error is ArchiveError { return true }
        guard let pgp = error as? PGPError else { return false }
        switch pgp.code {
        case .wrongKey, .corrupt, .notPGP, .noIntegrityProtection: return true
        default: return false
        }
    }

    /// `decrypt/rejects.ndjson`: one line per rejected download, with the reason.
    private func writeRejects(in folder: StageFolder) throws -> (output: StageOutput, count: Int) {
        let writer = try folder.createOutput(Self.rejectsName)
        var count = 0
        for item in try folder.items() {
            guard let reason = item.notes[Self.rejectedNote] else { continue }
            try writer.write(
                "{\"file\":\(JSONText.quote(item.key)),\"line\":0,\"reason\":\(JSONText.quote(reason))}\n")
            count += 1
        }
        return (try folder.publish(writer), count)
    }
}
