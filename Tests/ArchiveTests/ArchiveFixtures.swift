import Core
import Foundation
import TestSupport

/// Archives made at test time with python3's zipfile, gzip and tarfile modules (standard library).
enum Make {
    /// Runs a python3 program with arguments; the program writes the archive.
    static func python(_ program: String, _ arguments: [String]) throws {
        defer { for argument in arguments where argument.hasSuffix(".json") { unlink(argument) } }
        try GnuPGFixture.run("python3", ["-c", program] + arguments)
    }

    /// A zip with the given members (name → text). `zip64` forces Zip64 records; `streamed` writes to
    /// a pipe-like stream, so every member has a data descriptor; `directories` adds directory entries.
    static func zip(
        _ path: String, _ members: [(String, String)], zip64: Bool = false, streamed: Bool = false,
        symlinks: [(String, String)] = []
    ) throws {
        let program = """
            import sys, zipfile, json, io, stat
            path, members, zip64, streamed, links = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3] == '1', sys.argv[4] == '1', json.load(open(sys.argv[5]))
            class Unseekable(io.RawIOBase):
                def __init__(self, f): self.f = f
                def writable(self): return True
                def write(self, b): return self.f.write(b)
            raw = open(path, 'wb')
            target = Unseekable(raw) if streamed else raw
            with zipfile.ZipFile(target, 'w', zipfile.ZIP_DEFLATED) as z:
                for name, text in members:
                    if name.endswith('/'):
                        z.writestr(zipfile.ZipInfo(name), b'')
                    elif zip64:
                        with z.open(name, 'w', force_zip64=True) as f: f.write(text.encode())
                    else:
                        z.writestr(name, text)
                for name, target_name in links:
                    info = zipfile.ZipInfo(name)
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    z.writestr(info, target_name)
            raw.close()
            """
        try python(
            program,
            [
                path, json(members.map { [$0.0, $0.1] }), zip64 ? "1" : "0", streamed ? "1" : "0",
                json(symlinks.map { [$0.0, $0.1] }),
            ])
    }

    /// A gzip file of several concatenated members, one per part.
    static func gzip(_ path: String, parts: [String]) throws {
        let program = """
            import sys, gzip, json
            with open(sys.argv[1], 'wb') as out:
                for part in json.load(open(sys.argv[2])):
                    out.write(gzip.compress(part.encode()))
            """
        try python(program, [path, json(parts.map { [$0] }.flatMap { $0 })])
    }

    /// A .tar.gz with regular members and symbolic links (name → target).
    static func tarGz(_ path: String, _ members: [(String, String)], symlinks: [(String, String)] = []) throws {
        let program = """
            import sys, tarfile, json, io
            with tarfile.open(sys.argv[1], 'w:gz') as t:
                for name, text in json.load(open(sys.argv[2])):
                    data = text.encode()
                    info = tarfile.TarInfo(name); info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
                for name, target in json.load(open(sys.argv[3])):
                    info = tarfile.TarInfo(name); info.type = tarfile.SYMTYPE; info.linkname = target
                    t.addfile(info)
            """
        try python(program, [path, json(members.map { [$0.0, $0.1] }), json(symlinks.map { [$0.0, $0.1] })])
    }

    /// Writes `value` as JSON to a new file in the temporary folder and returns its path (archive
    /// contents are too large for a command line).
    static func json(_ value: [Any]) -> String {
        let path = NSTemporaryDirectory() + "/retl-archive-spec-\(UUID().uuidString).json"
        let data = (try? JSONSerialization.data(withJSONObject: value)) ?? Data("[]".utf8)
        try? data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Cuts a file to `fraction` of its size.
    static func truncate(_ path: String, to fraction: Double) throws {
        let bytes = try Files.read(path)
        try bytes.prefix(Int(Double(bytes.count) * fraction)).write(to: URL(fileURLWithPath: path))
    }

    static func text(_ path: String) throws -> String { String(decoding: try Files.read(path), as: UTF8.self) }

    /// Names in `folder`, temporaries included.
    static func names(_ folder: String) throws -> [String] { try Files.list(folder) }

    static func rows(_ label: String, _ count: Int = 500) -> String {
        (0..<count).map { "\(label),\($0),2024-03-07\n" }.joined()
    }
}
