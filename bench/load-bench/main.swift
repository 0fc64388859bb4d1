// Loads one NDJSON file of events into a SQLite database with the sqlite sink, for bench/load.sh.
// Usage: load-bench NDJSON DATABASE [BATCH_SIZE]
// Prints the counts and the seconds the load took (the database is created when absent).
import Core
import Foundation
import Warehouse

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4, arguments.count == 3 || Int(arguments[3]) != nil else {
    FileHandle.standardError.write(Data("usage: load-bench NDJSON DATABASE [BATCH_SIZE]\n".utf8))
    exit(2)
}
do {
    let started = monotonicSeconds()
    let sink = try SQLiteEventSink(path: arguments[2], batchSize: arguments.count == 4 ? Int(arguments[3])! : 10_000)
    let counts = try sink.load(ndjsonFile: arguments[1], sourceName: (arguments[1] as NSString).lastPathComponent)
    print(
        "inserted=\(counts.inserted) already_present=\(counts.alreadyPresent) "
            + "seconds=\(String(format: "%.2f", monotonicSeconds() - started))")
} catch {
    FileHandle.standardError.write(Data("load-bench: \(error)\n".utf8))
    exit(1)
}
