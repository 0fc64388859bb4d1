// pgp-bench: decrypts one file with PGPDecryptor and prints the seconds the decryption took.
// Used by bench/decrypt.sh; not part of the tool.
//
//   pgp-bench HOME KEYFILE INPUT OUTPUT
import Core
import Foundation
import PGP

let arguments = CommandLine.arguments
guard arguments.count == 5 else {
    FileHandle.standardError.write(Data("usage: pgp-bench HOME KEYFILE INPUT OUTPUT\n".utf8))
    exit(2)
}
do {
    let decryptor = try PGPDecryptor(
        homeDirectory: arguments[1], privateKeyFile: arguments[2],
        passphrase: ProcessInfo.processInfo.environment["BENCH_PASSPHRASE"], allowNoMDC: false, logger: .silent)
    let start = monotonicSeconds()
    let report = try decryptor.decrypt(input: arguments[3], output: arguments[4])
    let elapsed = monotonicSeconds() - start
    print(String(format: "%.3f", elapsed), report.integrityProtected ? "mdc" : "no-mdc")
} catch {
    FileHandle.standardError.write(Data("pgp-bench: \(error)\n".utf8))
    exit(1)
}
