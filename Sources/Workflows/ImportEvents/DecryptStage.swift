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
            let files = try unwrapper.unwrap(
                input: input.file(downloaded.name), originalName: downloaded.name,
                into: context.folder.file(subfolder), pgp: needsKey ? try pgp() : nil)
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
        return StageResult(
            outputs: outputs, counts: ["files_in": marker.outputs.count - 1, "files_out": outputs.count],
            notes: signatures)
    }
}
