// Runs the import-events transform on one file, for bench/transform.sh.
// Usage: transform-bench INPUT OUTPUT_DIR [SOURCE_NAME]
import Core
import Foundation
import Records

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: transform-bench INPUT OUTPUT_DIR [SOURCE_NAME]\n".utf8))
    exit(2)
}
let input = arguments[1]
let folder = arguments[2]
let sourceName = arguments.count > 3 ? arguments[3] : (input as NSString).lastPathComponent
do {
    let started = monotonicSeconds()
    let rejects = try RejectsWriter(path: folder + "/rejects.ndjson")
    let stem = sourceName.split(separator: ".").first.map(String.init) ?? sourceName
    let (counts, digest) = try EventTransformer.transform(
        input: input, sourceName: sourceName, outputPath: folder + "/" + stem + ".ndjson", rejects: rejects)
    try rejects.commit()
    let seconds = monotonicSeconds() - started
    print(
        "rows=\(counts.rows) events=\(counts.events) rejects=\(counts.rejects) sha256=\(digest) "
            + "seconds=\(String(format: "%.3f", seconds))")
} catch {
    FileHandle.standardError.write(Data("transform-bench: \(error)\n".utf8))
    exit(1)
}
