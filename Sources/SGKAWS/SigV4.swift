import Crypto
import Foundation
import SGKData

/// One query parameter, name and value not percent-encoded.
public struct QueryParameter: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
}

/// The intermediate and final products of a SigV4 signature, kept for tests and debugging.
public struct SigV4Signature: Sendable {
    /// The canonical request (task 1).
    public var canonicalRequest: String
    /// The string to sign (task 2).
    public var stringToSign: String
    /// Lower-case hex signature.
    public var signature: String
    /// `host;x-amz-date;…`
    public var signedHeaders: String
    /// Headers to add to the request (header signing) — `X-Amz-Date`, maybe
    /// `x-amz-content-sha256`, `X-Amz-Security-Token`, and `Authorization`.
    public var headersToAdd: [(name: String, value: String)]
    /// For presigned URLs: every query parameter of the final URL, in sending order.
    public var queryParameters: [QueryParameter]
}

/// The `x-amz-content-sha256` value for payloads that are not signed.
public enum PayloadHash {
    /// `UNSIGNED-PAYLOAD`
    public static let unsigned = "UNSIGNED-PAYLOAD"
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
    public static let streaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    /// SHA-256 of the empty payload.
    public static let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

/// AWS Signature Version 4 (HMAC-SHA256): header signing and presigned URLs.
///
/// Caches the derived signing key per access key, day, region and service, so
/// a burst of requests costs one HMAC chain instead of five per request.
public struct SigV4Signer: Sendable {
    /// Service name in the credential scope (`iam`, `sts`, `eks`).
    public var service: String
    /// Region in the credential scope.
    public var region: String
    /// Remove `.`/`..`/empty path segments before signing (every service except S3).
    public var normalizePath: Bool
    private let cache: SigningKeyCache

    public init(service: String, region: String, normalizePath: Bool = true) {
        self.init(service: service, region: region, normalizePath: normalizePath, sharedCache: SigningKeyCache())
    }

    init(service: String, region: String, normalizePath: Bool, sharedCache: SigningKeyCache) {
        self.service = service
        self.region = region
        self.normalizePath = normalizePath
        self.cache = sharedCache
    }

    /// Signs with the `Authorization` header.
    ///
    /// - Parameters:
    ///   - path: the request path as it appears on the wire (no query).
    ///   - query: decoded query parameters.
    ///   - headers: the request's headers; must contain `Host`.
    ///   - payloadHash: hex SHA-256 of the body, or `PayloadHash.unsigned`.
    ///   - omitSessionTokenFromSignature: add `X-Amz-Security-Token` after signing (unsigned).
    ///   - addContentSHA256Header: also send and sign `x-amz-content-sha256`.
    public func signHeaders(
        method: String, path: String, query: [QueryParameter], headers: [(name: String, value: String)],
        payloadHash: String, credentials: AWSCredentials, date: Date,
        omitSessionTokenFromSignature: Bool = false, addContentSHA256Header: Bool = false
    ) -> SigV4Signature {
        let amzDate = SigV4Time.amzDate(date)
        let scopeDate = String(amzDate.prefix(8))
        var all = headers.filter { !SigV4Signer.isUnsignable($0.name) }
        var added: [(name: String, value: String)] = [("X-Amz-Date", amzDate)]
        all.removeAll { $0.name.lowercased() == "x-amz-date" }
        all.append(("X-Amz-Date", amzDate))
        if addContentSHA256Header {
            all.append(("x-amz-content-sha256", payloadHash))
            added.append(("x-amz-content-sha256", payloadHash))
        }
        if let token = credentials.sessionToken, !token.isEmpty {
            if !omitSessionTokenFromSignature { all.append(("X-Amz-Security-Token", token)) }
            added.append(("X-Amz-Security-Token", token))
        }
        let (canonicalHeaders, signedHeaders) = SigV4Signer.canonicalHeaders(all)
        let canonicalRequest = [
            method.uppercased(),
            canonicalPath(path),
            SigV4Signer.canonicalQuery(query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(scopeDate)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(SigV4Signer.sha256Hex(canonicalRequest))"
        let signature = sign(stringToSign, credentials: credentials, scopeDate: scopeDate)
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        added.append(("Authorization", authorization))
        return SigV4Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            signedHeaders: signedHeaders, headersToAdd: added, queryParameters: query)
    }

    /// Presigns: the signature travels in the query string (`X-Amz-Signature`).
    ///
    /// - Parameters:
    ///   - headers: headers to sign (must contain `Host`); the client must send them.
    ///   - expires: `X-Amz-Expires` in seconds.
    ///   - omitSessionTokenFromSignature: append `X-Amz-Security-Token` after signing.
    public func presign(
        method: String, path: String, query: [QueryParameter], headers: [(name: String, value: String)],
        payloadHash: String = PayloadHash.empty, credentials: AWSCredentials, date: Date, expires: Int,
        omitSessionTokenFromSignature: Bool = false
    ) -> SigV4Signature {
        let amzDate = SigV4Time.amzDate(date)
        let scopeDate = String(amzDate.prefix(8))
        let scope = "\(scopeDate)/\(region)/\(service)/aws4_request"
        let hdrs = headers.filter { !SigV4Signer.isUnsignable($0.name) }
        let (canonicalHeaders, signedHeaders) = SigV4Signer.canonicalHeaders(hdrs)
        var params = query
        params.append(QueryParameter("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        params.append(QueryParameter("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"))
        params.append(QueryParameter("X-Amz-Date", amzDate))
        params.append(QueryParameter("X-Amz-Expires", String(expires)))
        params.append(QueryParameter("X-Amz-SignedHeaders", signedHeaders))
        let token = credentials.sessionToken.flatMap { $0.isEmpty ? nil : $0 }
        if let token, !omitSessionTokenFromSignature {
            params.append(QueryParameter("X-Amz-Security-Token", token))
        }
        let canonicalRequest = [
            method.uppercased(),
            canonicalPath(path),
            SigV4Signer.canonicalQuery(params),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(SigV4Signer.sha256Hex(canonicalRequest))"
        let signature = sign(stringToSign, credentials: credentials, scopeDate: scopeDate)
        if let token, omitSessionTokenFromSignature {
            params.append(QueryParameter("X-Amz-Security-Token", token))
        }
        params.append(QueryParameter("X-Amz-Signature", signature))
        return SigV4Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            signedHeaders: signedHeaders, headersToAdd: [], queryParameters: params)
    }

    // MARK: - pieces

    private func sign(_ stringToSign: String, credentials: AWSCredentials, scopeDate: String) -> String {
        let key = cache.key(
            accessKeyID: credentials.accessKeyID, secret: credentials.secretAccessKey,
            date: scopeDate, region: region, service: service)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)
        return Hex.encode(mac)
    }

    static func deriveKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ s: String) -> SymmetricKey {
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(s.utf8), using: key))
        }
        let kSecret = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        return hmac(hmac(hmac(hmac(kSecret, date), region), service), "aws4_request")
    }

    private static func isUnsignable(_ name: String) -> Bool {
        switch name.lowercased() {
        case "authorization", "user-agent", "expect", "x-amzn-trace-id", "connection", "transfer-encoding": return true
        default: return false
        }
    }

    /// The canonical URI: optionally normalized, each byte outside the unreserved set percent-encoded.
    func canonicalPath(_ raw: String) -> String {
        var path = raw.isEmpty ? "/" : raw
        if normalizePath {
            var out: [Substring] = []
            for seg in path.split(separator: "/", omittingEmptySubsequences: true) {
                if seg == "." { continue }
                if seg == ".." { if !out.isEmpty { out.removeLast() }; continue }
                out.append(seg)
            }
            var joined = "/" + out.joined(separator: "/")
            if !out.isEmpty, path.hasSuffix("/") { joined += "/" }
            path = joined
        }
        return URIEncoding.encode(path, keepSlash: true)
    }

    /// Sorted, encoded `name=value&…`.
    static func canonicalQuery(_ params: [QueryParameter]) -> String {
        let encoded = params.map { (URIEncoding.encode($0.name), URIEncoding.encode($0.value)) }
        let sorted = encoded.sorted { a, b in
            a.0 == b.0 ? Array(a.1.utf8).lexicographicallyPrecedes(b.1.utf8)
                : Array(a.0.utf8).lexicographicallyPrecedes(b.0.utf8)
        }
        return sorted.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Canonical header block (with trailing newline) and the signed-headers list.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (String, String) {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            if values[key] == nil { order.append(key); values[key] = [] }
            values[key, default: []].append(trimAll(value))
        }
        let names = order.sorted { Array($0.utf8).lexicographicallyPrecedes($1.utf8) }
        var block = ""
        for n in names {
            block += n + ":" + (values[n] ?? []).joined(separator: ",") + "\n"
        }
        return (block, names.joined(separator: ";"))
    }

    /// Trims and collapses runs of whitespace (including folded lines) to one space.
    static func trimAll(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for ch in value {
            if ch == " " || ch == "\t" || ch == "\n" || ch == "\r" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" "); pendingSpace = false }
                out.append(ch)
            }
        }
        return out
    }

    /// Lower-case hex SHA-256 of a string.
    public static func sha256Hex(_ s: String) -> String { Hex.encode(SHA256.hash(data: Array(s.utf8))) }
    /// Lower-case hex SHA-256 of bytes.
    public static func sha256Hex(_ bytes: [UInt8]) -> String { Hex.encode(SHA256.hash(data: bytes)) }
}

/// Thread-safe cache of derived signing keys (one per access key/day/region/service).
final class SigningKeyCache: @unchecked Sendable {
    private struct Entry { var secret: String; var key: SymmetricKey }
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    func key(accessKeyID: String, secret: String, date: String, region: String, service: String) -> SymmetricKey {
        let id = "\(accessKeyID)/\(date)/\(region)/\(service)"
        lock.lock()
        if let e = entries[id], e.secret == secret { lock.unlock(); return e.key }
        lock.unlock()
        let key = SigV4Signer.deriveKey(secret: secret, date: date, region: region, service: service)
        lock.lock()
        if entries.count > 64 { entries.removeAll() }
        entries[id] = Entry(secret: secret, key: key)
        lock.unlock()
        return key
    }
}

/// Form bodies and query strings (the encoding itself is SGKData's `URIEncoding`).
extension URIEncoding {
    /// `a=b&c=d` with values encoded (form bodies and query strings).
    public static func formEncode(_ params: [QueryParameter]) -> String {
        params.map { encode($0.name) + "=" + encode($0.value) }.joined(separator: "&")
    }

    /// Splits `a=b&c` into decoded parameters.
    public static func parseQuery(_ q: String) -> [QueryParameter] {
        q.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            if let eq = pair.firstIndex(of: "=") {
                return QueryParameter(decode(String(pair[..<eq])), decode(String(pair[pair.index(after: eq)...])))
            }
            return QueryParameter(decode(String(pair)), "")
        }
    }
}

enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
    static func encode<D: Digest>(_ d: D) -> String { encode(Array(d)) }
    static func encode(_ mac: HashedAuthenticationCode<SHA256>) -> String { encode(Array(mac)) }
}

/// UTC date formatting without DateFormatter (cheap per request).
public enum SigV4Time {
    /// `yyyyMMdd'T'HHmmss'Z'`
    public static func amzDate(_ date: Date) -> String {
        let c = civil(date)
        return pad(c.y, 4) + pad(c.m) + pad(c.d) + "T" + pad(c.hh) + pad(c.mm) + pad(c.ss) + "Z"
    }
    /// `yyyy-MM-dd'T'HH:mm:ss'Z'`
    public static func iso8601(_ date: Date) -> String {
        let c = civil(date)
        return pad(c.y, 4) + "-" + pad(c.m) + "-" + pad(c.d) + "T" + pad(c.hh) + ":" + pad(c.mm) + ":" + pad(c.ss) + "Z"
    }

    private static func pad(_ v: Int, _ width: Int = 2) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func civil(_ date: Date) -> (y: Int, m: Int, d: Int, hh: Int, mm: Int, ss: Int) {
        let t = Int(date.timeIntervalSince1970.rounded(.down))
        var days = t / 86400
        var secs = t % 86400
        if secs < 0 { secs += 86400; days -= 1 }
        // Howard Hinnant's civil_from_days
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d, secs / 3600, (secs % 3600) / 60, secs % 60)
    }

    /// Parses ISO-8601 timestamps as AWS sends them (`2024-01-02T03:04:05Z`, with optional fraction or offset).
    public static func parseISO8601(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)
    }
}
