import CCurl
import Core
import Foundation

/// One HTTP request. Headers and body are sent as given; the body is sent byte for byte.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// False for a request that must never be sent twice (a trigger email). It then goes out on a fresh
    /// connection, because libcurl silently resends a request on a reused connection that died.
    public var repeatable: Bool

    public init(
        method: String, url: String, headers: [(name: String, value: String)] = [], body: Data? = nil,
        repeatable: Bool = true
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.repeatable = repeatable
    }

    /// `METHOD url-without-query`: what errors and logs show (a query string may carry an id or an email).
    public var target: String {
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        return "\(method) \(path)"
    }
}

/// An HTTP answer, whatever its status.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data

    public init(status: Int, headers: [(name: String, value: String)], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header with this name, compared without case.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// Limits applied to every request of a client.
public struct HTTPOptions: Sendable {
    /// Seconds to establish the TCP (and TLS) connection.
    public var connectTimeout: Double = 15
    /// Seconds for the whole exchange, connection included.
    public var totalTimeout: Double = 120
    /// Answers larger than this many bytes fail with `HTTPError.Code.tooLarge`.
    public var maxResponseBytes: Int = 16 << 20
    /// Easy handles kept for reuse (each keeps its connection alive); more requests in flight create more.
    public var keptHandles: Int = 16
    /// The User-Agent header.
    public var userAgent: String = "responsys-etl"

    public init() {}
}

/// An HTTP/1.1 client over libcurl.
///
/// `send` blocks its calling thread; call it from several threads to have several requests in flight.
/// Each request borrows an easy handle from a pool and gives it back, so connections stay alive between
/// requests. TLS peer and host verification are always on; the proxy variables of the environment
/// (`https_proxy`, `no_proxy`…) apply as libcurl's default; redirects are not followed.
public final class HTTPClient: @unchecked Sendable {
    public let options: HTTPOptions
    private let lock = NSLock()
    private var pool: [EasyHandle] = []

    public init(options: HTTPOptions = HTTPOptions()) throws {
        try CurlLibrary.initialise()
        self.options = options
    }

    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let handle = try lock.withLock { pool.popLast() } ?? EasyHandle()
        // A handle whose transfer failed may hold a broken connection: it is dropped, not pooled.
        let response = try handle.perform(request, options: options)
        lock.withLock {
            if pool.count < options.keptHandles { pool.append(handle) }
        }
        return response
    }
}

/// `curl_global_init`, exactly once per process, before the first handle.
enum CurlLibrary {
    private static let result: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    static func initialise() throws {
        guard result == CURLE_OK else {
            throw HTTPError(
                .library, target: "curl_global_init", underlying: String(cString: curl_easy_strerror(result)),
                mayHaveReachedServer: false)
        }
    }
}

/// What the callbacks of one transfer collect. Passed to C as an unretained pointer that lives as long
/// as the transfer.
private final class TransferBuffer {
    var body = Data()
    var headers: [(name: String, value: String)] = []
    var limit: Int
    var exceeded = false

    init(limit: Int) { self.limit = limit }
}

private let writeBody: retl_curl_data_callback = { data, size, count, context in
    guard let context else { return 0 }
    let buffer = Unmanaged<TransferBuffer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if buffer.body.count + length > buffer.limit {
        buffer.exceeded = true
        return 0  // libcurl stops the transfer with CURLE_WRITE_ERROR
    }
    data.withMemoryRebound(to: UInt8.self, capacity: length) { buffer.body.append($0, count: length) }
    return length
}

private let writeHeader: retl_curl_data_callback = { data, size, count, context in
    guard let context else { return 0 }
    let buffer = Unmanaged<TransferBuffer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
    if line.hasPrefix("HTTP/") {
        buffer.headers = []  // a new status line (after 100 Continue or a proxy CONNECT) starts over
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces)
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        buffer.headers.append((name: name, value: value))
    }
    return length
}

/// The owner of one `CURL *` easy handle and its error buffer.
final class EasyHandle {
    private let curl: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init() throws {
        guard let curl = curl_easy_init() else {
            throw HTTPError(
                .library, target: "curl_easy_init", underlying: "out of memory", mayHaveReachedServer: false)
        }
        self.curl = curl
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(curl)
        errorBuffer.deallocate()
    }

    func perform(_ request: HTTPRequest, options: HTTPOptions) throws -> HTTPResponse {
        // Reset keeps the live connection, the DNS cache and TLS sessions; every option is set again below.
        curl_easy_reset(curl)
        errorBuffer[0] = 0
        let buffer = TransferBuffer(limit: options.maxResponseBytes)
        let context = Unmanaged.passUnretained(buffer).toOpaque()

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        // libcurl adds "Expect: 100-continue" to large bodies; an empty value turns that off.
        for line in request.headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            guard let appended = curl_slist_append(headerList, line) else {
                throw HTTPError(
                    .library, target: request.target, underlying: "out of memory", mayHaveReachedServer: false)
            }
            headerList = appended
        }

        let body = request.body ?? Data()
        let result: CURLcode = try body.withUnsafeBytes { bytes in
            try check(retl_curl_set_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer), request)
            try check(retl_curl_set_string(curl, CURLOPT_URL, request.url), request)
            try check(retl_curl_set_string(curl, CURLOPT_PROTOCOLS_STR, "http,https"), request)
            try check(retl_curl_set_long(curl, CURLOPT_NOSIGNAL, 1), request)
            try check(retl_curl_set_long(curl, CURLOPT_SSL_VERIFYPEER, 1), request)
            try check(retl_curl_set_long(curl, CURLOPT_SSL_VERIFYHOST, 2), request)
            try check(retl_curl_set_long(curl, CURLOPT_FOLLOWLOCATION, 0), request)
            try check(
                retl_curl_set_long(curl, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(options.connectTimeout)), request)
            try check(retl_curl_set_long(curl, CURLOPT_TIMEOUT_MS, milliseconds(options.totalTimeout)), request)
            try check(
                retl_curl_set_offset(curl, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(options.maxResponseBytes)), request)
            try check(retl_curl_set_string(curl, CURLOPT_USERAGENT, options.userAgent), request)
            try check(retl_curl_set_slist(curl, CURLOPT_HTTPHEADER, headerList), request)
            try check(retl_curl_set_callback(curl, CURLOPT_WRITEFUNCTION, writeBody), request)
            try check(retl_curl_set_pointer(curl, CURLOPT_WRITEDATA, context), request)
            try check(retl_curl_set_callback(curl, CURLOPT_HEADERFUNCTION, writeHeader), request)
            try check(retl_curl_set_pointer(curl, CURLOPT_HEADERDATA, context), request)
            if !request.repeatable {
                try check(retl_curl_set_long(curl, CURLOPT_FRESH_CONNECT, 1), request)
            }

            switch request.method {
            case "GET" where request.body == nil:
                try check(retl_curl_set_long(curl, CURLOPT_HTTPGET, 1), request)
            case "HEAD":
                try check(retl_curl_set_long(curl, CURLOPT_NOBODY, 1), request)
            default:
                // POSTFIELDS with an explicit size sends the bytes as they are (zero bytes included);
                // CUSTOMREQUEST changes the method word for PUT, DELETE…
                try check(retl_curl_set_long(curl, CURLOPT_POST, 1), request)
                try check(retl_curl_set_offset(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count)), request)
                let pointer = UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(errorBuffer))
                try check(retl_curl_set_pointer(curl, CURLOPT_POSTFIELDS, pointer), request)
                if request.method != "POST" {
                    try check(retl_curl_set_string(curl, CURLOPT_CUSTOMREQUEST, request.method), request)
                }
            }
            return curl_easy_perform(curl)
        }

        guard result == CURLE_OK else {
            var pretransfer: Double = 0
            _ = retl_curl_get_double(curl, CURLINFO_PRETRANSFER_TIME, &pretransfer)
            throw HTTPError.from(
                result, target: request.target, detail: String(cString: errorBuffer),
                requestStarted: pretransfer > 0, exceededCap: buffer.exceeded)
        }
        var status: Int = 0
        _ = retl_curl_get_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: buffer.headers, body: buffer.body)
    }

    private func check(_ code: CURLcode, _ request: HTTPRequest) throws {
        guard code == CURLE_OK else {
            throw HTTPError.from(
                code, target: request.target, detail: String(cString: errorBuffer), requestStarted: false,
                exceededCap: false)
        }
    }

    private func milliseconds(_ seconds: Double) -> Int { max(1, Int((seconds * 1000).rounded())) }
}
