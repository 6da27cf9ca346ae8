/// Plain words for the errors a connection can end with (as NIO, NIOSSL and sgk's transport,
/// SGKHTTP, describe them: `connection reset (error set): Connection refused (errno: 111)`,
/// `handshakeFailed(NIOSSL.BoringSSLError.sslError([… CERTIFICATE_VERIFY_FAILED …]))`), shared by
/// the AWS and Kubernetes clients and `fetch` so that each says the same thing the same way.
public enum NetworkErrorText {
    /// What went wrong, in a few words; the error's own text when it is none of the known kinds.
    public static func plain(_ error: any Error) -> String {
        plain(String(describing: error))
    }

    public static func plain(_ text: String) -> String {
        func has(_ s: String) -> Bool { text.contains(s) }
        // The values are credentials more often than not: never quoted.
        if has("invalidHeaderFieldValues") || has("invalidHeaderFieldNames") {
            return "a request header holds a character HTTP does not allow (a credential or token with a line break? e.g. one read from a file with CRLF line ends)"
        }
        if has("CERTIFICATE_VERIFY_FAILED") {
            return "the server's TLS certificate is not trusted (CERTIFICATE_VERIFY_FAILED: not signed by the expected certificate authority)"
        }
        if has("failedToValidateHostname") || has("in certificate from peer") || has("hostnameMismatch") {
            return "the server's TLS certificate does not name this host"
        }
        if has("tlsHandshakeTimeout") {
            return "the TLS handshake timed out (something accepted the connection but did not answer as an https server)"
        }
        if has("handshakeFailed") || has("BoringSSLError") {
            return "the TLS handshake failed (is it an https endpoint, with a certificate this client trusts?)"
        }
        if has("refused") || has("errno: 111") { return "connection refused (nothing listens on that address and port)" }
        if has("UnknownHost") || has("dnsAError") || has("DNS") || has("nodename nor servname") || has("Name or service not known") {
            return "the host name could not be resolved (DNS)"
        }
        if has("connectTimeout") || has("Connect timeout") || has("connect timeout") { return "the connection timed out" }
        if has("deadlineExceeded") || has("readTimeout") { return "the server did not answer in time" }
        if has("nreachable") || has("errno: 101") || has("errno: 113") { return "the network or host is unreachable" }
        if has("reset by peer") || has("errno: 104") { return "the server reset the connection" }
        if has("remoteConnectionClosed") || has("uncleanShutdown") { return "the server closed the connection" }
        return text
    }

    /// Whether the connection failed before any request could be sent (refused, DNS, unreachable,
    /// connect timeout, TLS handshake): then a retry cannot repeat a write. Any other failure may
    /// have come after the server received the request.
    public static func neverSent(_ error: any Error) -> Bool { neverSent(String(describing: error)) }

    public static func neverSent(_ text: String) -> Bool {
        func has(_ s: String) -> Bool { text.contains(s) }
        return has("refused") || has("errno: 111") || has("UnknownHost") || has("dnsAError") || has("DNS")
            || has("nodename nor servname") || has("Name or service not known") || has("connectTimeout")
            || has("Connect timeout") || has("connect timeout") || has("nreachable") || has("errno: 101") || has("errno: 113")
            || has("handshakeFailed") || has("BoringSSLError") || has("CERTIFICATE_VERIFY_FAILED") || has("tlsHandshakeTimeout")
            || has("failedToValidateHostname") || has("hostnameMismatch")
            // The same, in the words of `plain`:
            || has("could not be resolved") || has("connection timed out") || has("TLS") || has("unreachable")
    }
}

/// An error after which a write may or may not have been made (its request went out, its answer
/// never came): the journal keeps such a write as interrupted, not failed, so an uninstall still
/// removes what it may have created.
public protocol OutcomeUnknownError: Error {
    var outcomeUnknown: Bool { get }
}
