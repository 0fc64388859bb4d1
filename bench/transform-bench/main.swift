// Runs the import-events transform on one file, for bench/transform.sh.
// Usage: transform-bench INPUT OUTPUT_DIR [SOURCE_NAME]
// Prints the counts, the output's SHA-256, and the seconds spent transforming and publishing (fsync + rename).
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
    let output = try DigestingFileWriter(path: folder + "/" + stem + ".ndjson")
    let counts = try EventTransformer.transform(
        input: input, sourceName: sourceName, output: output, rejects: rejects)
    let transformed = monotonicSeconds()
    let digest = try output.commit()
    try rejects.commit()
    let finished = monotonicSeconds()
    print(
        "rows=\(counts.rows) events=\(counts.events) rejects=\(counts.rejects) sha256=\(digest) "
            + "transform_seconds=\(String(format: "%.2f", transformed - started)) "
            + "publish_seconds=\(String(format: "%.2f", finished - transformed))")
} catch {
    FileHandle.standardError.write(Data("transform-bench: \(error)\n".utf8))
    exit(1)
}
