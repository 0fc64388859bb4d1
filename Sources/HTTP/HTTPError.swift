import CCurl
import Core

/// A transport failure: the request got no usable HTTP answer.
///
/// An HTTP status (even 500) is not an `HTTPError`; it is a response. Callers decide retries from `code`
/// and `mayHaveReachedServer`, never from the text.
public struct HTTPError: DiagnosedError, Equatable {
    public enum Code: String, Sendable {
        /// The URL is malformed or uses a scheme other than http/https.
        case invalidURL
        /// The host name did not resolve (or the proxy's did not).
        case resolve
        /// No TCP connection (refused, unreachable).
        case connect
        /// The TLS handshake or the certificate check failed.
        case tls
        /// The connect or total timeout passed.
        case timeout
        /// The request could not be written completely.
        case send
        /// The connection closed before a complete answer (reset, empty reply, cut body).
        case dropped
        /// The answer was larger than the configured cap.
        case tooLarge
        /// libcurl itself failed (out of memory, initialisation, an option it refused).
        case library
    }

    public var code: Code
    /// The method and URL (never headers or body: they may carry a token or personal data).
    public var target: String
    /// libcurl's text for the failure.
    public var underlying: String
    /// True when any part of the request may have been delivered, so the server may have acted on it.
    /// A request that is not safe to repeat (a trigger email) must not be sent again when this is true.
    public var mayHaveReachedServer: Bool

    public init(_ code: Code, target: String, underlying: String, mayHaveReachedServer: Bool) {
        self.code = code
        self.target = target
        self.underlying = underlying
        self.mayHaveReachedServer = mayHaveReachedServer
    }

    public var exitStatus: ExitStatus {
        switch code {
        case .invalidURL, .tls, .tooLarge, .library: .stageFailed
        case .resolve, .connect, .timeout, .send, .dropped: .temporaryFailure
        }
    }

    public var remedy: String? {
        switch code {
        case .invalidURL: "check the base URL or instance in the configuration"
        case .resolve: "check the host name, DNS and the proxy variables (https_proxy, no_proxy)"
        case .connect: "check that the host is reachable from here (firewall, proxy); the run can be resumed"
        case .tls: "the server certificate could not be verified; check the CA bundle and the clock of this machine"
        case .timeout, .send, .dropped: "a network or server problem; the run can be resumed"
        case .tooLarge: "the server answered more than the response-size cap; raise the cap only if that is expected"
        case .library: nil
        }
    }

    public var description: String {
        var text = "HTTP request \(target) failed (\(code.rawValue)): \(underlying)"
        if let remedy { text += " (\(remedy))" }
        return text
    }
}

extension HTTPError {
    /// The one place where a `CURLcode` becomes a Swift error.
    ///
    /// - Parameters:
    ///   - result: what `curl_easy_perform` returned.
    ///   - detail: the text libcurl left in the handle's error buffer, if any.
    ///   - requestStarted: whether libcurl got as far as sending the request (pre-transfer time > 0).
    ///   - exceededCap: whether our write callback refused more data because of the size cap.
    static func from(
        _ result: CURLcode, target: String, detail: String, requestStarted: Bool, exceededCap: Bool
    ) -> HTTPError {
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
        if exceededCap || result == CURLE_FILESIZE_EXCEEDED {
            return HTTPError(.tooLarge, target: target, underlying: text, mayHaveReachedServer: true)
        }
        let code: Code
        var reached = requestStarted
        switch result {
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            code = .invalidURL
            reached = false
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            code = .resolve
            reached = false
        case CURLE_COULDNT_CONNECT:
            code = .connect
            reached = false
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE:
            code = .tls
            reached = false
        case CURLE_OPERATION_TIMEDOUT:
            code = .timeout
        case CURLE_SEND_ERROR:
            code = .send
            reached = true
        case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            code = .dropped
            reached = true
        default:
            code = .library
        }
        return HTTPError(code, target: target, underlying: text, mayHaveReachedServer: reached)
    }
}
