import Foundation
import NIOCore

/// Which proxy a transport goes through.
public enum ProxySetting: Sendable {
    /// Direct connections.
    case none
    /// `HTTPS_PROXY` / `https_proxy` for https URLs, `HTTP_PROXY` / `http_proxy` for http ones,
    /// except for hosts in `NO_PROXY` / `no_proxy` and loopback addresses (as Go's
    /// `http.ProxyFromEnvironment`, which kubectl uses).
    case environment([String: String])
    /// One proxy for every request: `http://[user:password@]host:port` or `socks5://host:port`
    /// (kubeconfig's `proxy-url`).
    case url(String)

    /// Parses a proxy URL; a host with no scheme is an http proxy.
    static func parse(_ text: String) throws -> Proxy {
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let u = URLComponents(string: withScheme), let scheme = u.scheme?.lowercased(), let host = u.host, !host.isEmpty else {
            throw HTTPTransportError.proxyFailed("invalid proxy URL (write http://HOST:PORT or socks5://HOST:PORT)")
        }
        switch scheme {
        case "http":
            var auth: String?
            if let user = u.user {
                let credentials = "\(user.removingPercentEncoding ?? user):\((u.password ?? "").removingPercentEncoding ?? "")"
                auth = "Basic " + Data(credentials.utf8).base64EncodedString()
            }
            return Proxy(kind: .http, host: host, port: u.port ?? 80, authorization: auth)
        case "socks5", "socks5h":
            return Proxy(kind: .socks5, host: host, port: u.port ?? 1080, authorization: nil)
        default:
            throw HTTPTransportError.proxyFailed("proxy scheme \(scheme) is not supported (use http:// or socks5://)")
        }
    }

    /// The proxy for one target, or nil for a direct connection.
    func proxy(for target: RequestTarget) throws -> Proxy? {
        switch self {
        case .none:
            return nil
        case .url(let text):
            return try ProxySetting.parse(text)
        case .environment(let env):
            func value(_ name: String) -> String? {
                let v = env[name] ?? env[name.lowercased()]
                return (v?.isEmpty ?? true) ? nil : v
            }
            guard let text = target.isHTTPS ? value("HTTPS_PROXY") : value("HTTP_PROXY") else { return nil }
            if ProxySetting.bypasses(host: target.host, port: target.port, noProxy: value("NO_PROXY") ?? "") { return nil }
            return try ProxySetting.parse(text)
        }
    }

    /// Whether `host` goes direct: loopback and link-local always; `NO_PROXY` entries `*`, a host, `.suffix` or
    /// `suffix` (matching the host and its subdomains), an IP, or an IP CIDR, each with an optional port.
    static func bypasses(host: String, port: Int, noProxy: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h.hasSuffix(".localhost") { return true }
        if let ip = ServerIdentity.parseIP(h), isLoopback(ip) || isLinkLocal(ip) { return true }
        for raw in noProxy.split(separator: ",") {
            var entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if entry.isEmpty { continue }
            if entry == "*" { return true }
            if entry.contains("/"), let ip = ServerIdentity.parseIP(h), cidrContains(entry, ip) { return true }
            // An optional port, except in a bare IPv6 address.
            if let colon = entry.lastIndex(of: ":"), !entry.hasSuffix("]"), entry.filter({ $0 == ":" }).count == 1 {
                guard Int(entry[entry.index(after: colon)...]) == port else { continue }
                entry = String(entry[..<colon])
            }
            if entry.hasPrefix("[") && entry.hasSuffix("]") { entry = String(entry.dropFirst().dropLast()) }
            if entry.hasPrefix("*.") { entry.removeFirst() }
            if entry.hasPrefix(".") {
                if h.hasSuffix(entry) || h == String(entry.dropFirst()) { return true }
            } else if h == entry || h.hasSuffix("." + entry) {
                return true
            } else if let a = ServerIdentity.parseIP(entry), let b = ServerIdentity.parseIP(h), a == b {
                return true
            }
        }
        return false
    }

    /// 169.254.0.0/16 and fe80::/10: the instance metadata service and the container credentials
    /// endpoint (169.254.169.254, 169.254.170.2), which the AWS SDKs never reach through a proxy.
    static func isLinkLocal(_ ip16: [UInt8]) -> Bool {
        if Array(ip16.prefix(12)) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] { return ip16[12] == 169 && ip16[13] == 254 }
        return ip16[0] == 0xfe && ip16[1] & 0xc0 == 0x80
    }

    static func isLoopback(_ ip16: [UInt8]) -> Bool {
        if Array(ip16.prefix(12)) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] { return ip16[12] == 127 }
        return ip16 == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    }

    static func cidrContains(_ cidr: String, _ ip16: [UInt8]) -> Bool {
        let parts = cidr.split(separator: "/")
        guard parts.count == 2, let net = ServerIdentity.parseIP(String(parts[0])), var bits = Int(parts[1]) else { return false }
        if String(parts[0]).contains(".") { bits += 96 }
        guard (0...128).contains(bits) else { return false }
        for i in 0..<16 {
            let take = min(8, max(0, bits - i * 8))
            let mask: UInt8 = take == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - take))
            if net[i] & mask != ip16[i] & mask { return false }
        }
        return true
    }
}

/// A proxy a connection goes through.
struct Proxy: Sendable, Hashable {
    enum Kind: Sendable, Hashable { case http, socks5 }
    var kind: Kind
    var host: String
    var port: Int
    /// `Proxy-Authorization` for an http proxy.
    var authorization: String?
}

/// How one request travels: directly or through a proxy, and the pool key of its connections.
struct Route: Sendable {
    var target: RequestTarget
    var proxy: Proxy?

    init(target: RequestTarget, proxy setting: ProxySetting) throws {
        self.target = target
        self.proxy = try setting.proxy(for: target)
    }

    var key: String {
        let base = "\(target.scheme)://\(target.host):\(target.port)"
        guard let proxy else { return base }
        return base + " via \(proxy.kind) \(proxy.host):\(proxy.port)"
    }

    /// Plain http through an http proxy sends the absolute URL; everything else the path.
    func requestURI(for target: RequestTarget) -> String {
        if let proxy, proxy.kind == .http, !target.isHTTPS {
            return "http://\(target.hostHeader)\(target.pathAndQuery)"
        }
        return target.pathAndQuery
    }

    var proxyAuthorization: String? { proxy?.authorization }
}
