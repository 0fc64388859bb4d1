import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One parsed request as the fake sees it.
public struct ServerRequest: Sendable {
    public var method: String
    /// The path without the query string, still percent-encoded.
    public var path: String
    /// The raw query string (after `?`), empty when there is none.
    public var query: String
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: Data
}

/// What the handler wants done with a request.
public enum ServerReply: Sendable {
    case respond(status: Int, contentType: String, body: Data)
    /// Close the connection without writing anything, as a cut network or a crashed gateway would.
    case drop
}

/// A small HTTP/1.1 server on 127.0.0.1: one thread per connection, keep-alive, bodies with Content-Length
/// only. Enough to be a real peer for libcurl in tests; not a general web server.
public final class TinyHTTPServer: @unchecked Sendable {
    public typealias Handler = @Sendable (ServerRequest) -> ServerReply

    private let handler: Handler
    /// Responsys's gateway cuts requests over 10 MB; the fake refuses them.
    static let maxBody = 10 << 20
    private let lock = NSLock()
    private var listener: Int32 = -1
    private var connections: Set<Int32> = []
    private var stopping = false
    public private(set) var port: UInt16 = 0

    public init(handler: @escaping Handler) { self.handler = handler }

    /// Binds 127.0.0.1:`port` (0 = any free port) and starts accepting; returns the bound port.
    public func start(port requested: UInt16) throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FakeServerError("socket() failed: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = requested.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let text = String(cString: strerror(errno))
            close(fd)
            throw FakeServerError("cannot listen on 127.0.0.1:\(requested): \(text)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        lock.withLock { listener = fd }
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.start()
        return port
    }

    /// Stops accepting and closes every open connection.
    public func stop() {
        let (fd, open) = lock.withLock { () -> (Int32, Set<Int32>) in
            stopping = true
            let result = (listener, connections)
            listener = -1
            return result
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
        for connection in open { shutdown(connection, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let connection = accept(fd, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            let accepted = lock.withLock { () -> Bool in
                if stopping { return false }
                connections.insert(connection)
                return true
            }
            guard accepted else {
                close(connection)
                return
            }
            var one: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let thread = Thread { [self] in serve(connection) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            lock.withLock { _ = connections.remove(fd) }
            close(fd)
        }
        var pending = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        let headerEnd = Data("\r\n\r\n".utf8)
        while true {
            // Read until the end of the headers, then until the whole body is there.
            var request: ServerRequest?
            var consumed = 0
            while request == nil {
                if let end = pending.range(of: headerEnd) {
                    guard let head = parseHead(pending[pending.startIndex..<end.lowerBound]) else {
                        _ = write(
                            fd, reply: .respond(status: 400, contentType: "text/plain", body: Data("bad request".utf8)),
                            keepAlive: false)
                        return
                    }
                    let length = Int(head.headers["content-length"] ?? "0") ?? -1
                    guard length <= Self.maxBody else {
                        let text = Data("body larger than \(Self.maxBody) bytes".utf8)
                        _ = write(
                            fd, reply: .respond(status: 413, contentType: "text/plain", body: text), keepAlive: false)
                        return
                    }
                    guard length >= 0, head.headers["transfer-encoding"] == nil else {
                        _ = write(
                            fd,
                            reply: .respond(
                                status: 411, contentType: "text/plain", body: Data("Content-Length required".utf8)),
                            keepAlive: false)
                        return
                    }
                    let bodyStart = end.upperBound
                    if pending.endIndex - bodyStart >= length {
                        var complete = head
                        complete.body = Data(pending[bodyStart..<(bodyStart + length)])
                        request = complete
                        consumed = bodyStart + length - pending.startIndex
                        break
                    }
                }
                let count = read(fd, &chunk, chunk.count)
                if count <= 0 { return }
                pending.append(contentsOf: chunk[0..<count])
            }
            pending = Data(pending.dropFirst(consumed))
            guard let request else { return }
            let keepAlive = request.headers["connection"]?.lowercased() != "close"
            let reply = handler(request)
            guard case .respond = reply, write(fd, reply: reply, keepAlive: keepAlive), keepAlive else { return }
        }
    }

    private func parseHead(_ bytes: Data) -> ServerRequest? {
        guard let text = String(data: bytes, encoding: .utf8) else { return nil }
        var lines = text.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let target = String(requestLine[1])
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return ServerRequest(
            method: String(requestLine[0]), path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "",
            headers: headers, body: Data())
    }

    private func write(_ fd: Int32, reply: ServerReply, keepAlive: Bool) -> Bool {
        guard case .respond(let status, let contentType, let body) = reply else { return false }
        var head = "HTTP/1.1 \(status) \(reason(status))\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        var bytes = Data(head.utf8)
        bytes.append(body)
        return bytes.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let written = send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }

    private func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

/// A failure of the fake itself (cannot bind, bad option).
public struct FakeServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
