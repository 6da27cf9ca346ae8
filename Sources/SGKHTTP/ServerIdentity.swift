import Foundation
import SwiftASN1
import X509

/// Whether a server certificate names the host a client asked for, decided exactly as Go's
/// crypto/x509 `Certificate.VerifyHostname` decides it for kubectl, eksctl and the aws CLI's
/// peers: subject alternative names only (the legacy Common Name is never used), DNS names
/// against host names and IP addresses against IP literals, a wildcard only as a whole leftmost
/// label.
///
/// The chain itself (signature, validity, trust roots) is checked by BoringSSL before this runs;
/// swift-nio-ssl's own host check is not used, because it matches an IP SAN against the connected
/// address whatever name was asked for, and falls back to the Common Name.
public enum ServerIdentity {
    /// The names a certificate holds, as this check reads them.
    public struct Names: Sendable, Equatable {
        public var dnsNames: [String]
        /// IP SANs, each 4 or 16 bytes.
        public var ipAddresses: [[UInt8]]
        /// Whether the certificate has a subjectAltName extension at all.
        public var hasSANExtension: Bool
        public var commonName: String?

        public init(dnsNames: [String] = [], ipAddresses: [[UInt8]] = [], hasSANExtension: Bool, commonName: String? = nil) {
            self.dnsNames = dnsNames; self.ipAddresses = ipAddresses
            self.hasSANExtension = hasSANExtension; self.commonName = commonName
        }

        /// Reads the names of a DER certificate.
        public init(der: [UInt8]) throws {
            let cert = try Certificate(derEncoded: der)
            var dns: [String] = []
            var ips: [[UInt8]] = []
            let sanExtension = cert.extensions[oid: .X509ExtensionID.subjectAlternativeName]
            if let sans = try cert.extensions.subjectAlternativeNames {
                for name in sans {
                    switch name {
                    case .dnsName(let d): dns.append(d)
                    case .ipAddress(let ip): ips.append(Array(ip.bytes))
                    default: continue
                    }
                }
            }
            var cn: String?
            for rdn in cert.subject {
                for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                    cn = attribute.value.description
                }
            }
            self.init(dnsNames: dns, ipAddresses: ips, hasSANExtension: sanExtension != nil, commonName: cn)
        }
    }

    /// Why a certificate does not name a host: Go's words (`x509: …`), which kubectl prints.
    public struct Mismatch: Error, Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var names: Names
        /// Go's `HostnameError` text.
        public var x509Text: String {
            if !names.hasSANExtension, let cn = names.commonName, ServerIdentity.matchHostnames(cn, host) {
                return "x509: certificate relies on legacy Common Name field, use SANs instead"
            }
            let valid: String
            if ServerIdentity.parseIP(host) != nil {
                if names.ipAddresses.isEmpty {
                    return "x509: cannot validate certificate for \(host) because it doesn't contain any IP SANs"
                }
                valid = names.ipAddresses.map(ServerIdentity.ipText).joined(separator: ", ")
            } else {
                valid = names.dnsNames.joined(separator: ", ")
            }
            if valid.isEmpty { return "x509: certificate is not valid for any names, but wanted to match \(host)" }
            return "x509: certificate is valid for \(valid), not \(host)"
        }
        public var description: String { "the server's TLS certificate does not name \(host) (\(x509Text))" }
    }

    /// Throws `Mismatch` unless `names` cover `host` (a host name, or an IP literal, IPv6 with or
    /// without brackets).
    public static func verify(_ names: Names, host: String) throws(Mismatch) {
        var candidateIP = host
        if host.count >= 3, host.hasPrefix("["), host.hasSuffix("]") { candidateIP = String(host.dropFirst().dropLast()) }
        if let ip = parseIP(candidateIP) {
            // IP addresses match IP SANs only.
            if names.ipAddresses.contains(where: { normalized($0) == ip }) { return }
            throw Mismatch(host: candidateIP, names: names)
        }
        let candidate = lowerASCII(host)
        let validCandidate = validHostname(candidate, isPattern: false)
        for match in names.dnsNames {
            // Perfect matches always; wildcards and a trailing dot only on valid host names.
            if validCandidate && validHostname(match, isPattern: true) {
                if matchHostnames(match, candidate) { return }
            } else if matchExactly(match, candidate) {
                return
            }
        }
        throw Mismatch(host: host, names: names)
    }

    static func lowerASCII(_ s: String) -> String {
        String(decoding: s.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }

    static func matchExactly(_ a: String, _ b: String) -> Bool {
        if a.isEmpty || a == "." || b.isEmpty || b == "." { return false }
        return lowerASCII(a) == lowerASCII(b)
    }

    static func matchHostnames(_ pattern: String, _ host: String) -> Bool {
        let pattern = lowerASCII(pattern)
        var host = lowerASCII(host)
        if host.hasSuffix(".") { host.removeLast() }
        if pattern.isEmpty || host.isEmpty { return false }
        let patternParts = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let hostParts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard patternParts.count == hostParts.count else { return false }
        for (i, part) in patternParts.enumerated() {
            if i == 0 && part == "*" { continue }
            if part != hostParts[i] { return false }
        }
        return true
    }

    static func validHostname(_ name: String, isPattern: Bool) -> Bool {
        var host = name
        if !isPattern, host.hasSuffix(".") { host.removeLast() }
        if host.isEmpty || host == "*" { return false }
        for (i, part) in host.split(separator: ".", omittingEmptySubsequences: false).enumerated() {
            if part.isEmpty { return false }
            if isPattern && i == 0 && part == "*" { continue }
            for (j, c) in part.utf8.enumerated() {
                switch c {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                    continue
                case UInt8(ascii: "-") where j != 0:
                    continue
                default:
                    return false
                }
            }
        }
        return true
    }

    /// An IP literal as 16 bytes (IPv4 in its IPv4-mapped IPv6 form), or nil.
    static func parseIP(_ s: String) -> [UInt8]? {
        var v4 = in_addr()
        if s.contains("."), !s.contains(":"), inet_pton(AF_INET, s, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { normalized(Array($0)) }
        }
        var v6 = in6_addr()
        if s.contains(":"), inet_pton(AF_INET6, s, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func normalized(_ ip: [UInt8]) -> [UInt8] {
        ip.count == 4 ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] + ip : ip
    }

    static func ipText(_ ip: [UInt8]) -> String {
        if ip.count == 4 { return ip.map(String.init).joined(separator: ".") }
        if ip.count == 16 {
            if Array(ip.prefix(12)) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] {
                return ip.suffix(4).map(String.init).joined(separator: ".")
            }
            var addr = in6_addr()
            withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: ip) }
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count)) != nil {
                return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        return ip.map { String($0, radix: 16) }.joined(separator: ":")
    }
}
