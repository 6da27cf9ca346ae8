import Foundation
import SGKData

/// An AWS partition: a separate copy of AWS with its own ARNs and domains.
public enum AWSPartition: String, Sendable, CaseIterable {
    case aws = "aws"
    case awsCN = "aws-cn"
    case awsUSGov = "aws-us-gov"

    /// The partition that holds `region` (`cn-*` → aws-cn, `us-gov-*` → aws-us-gov, else aws).
    public static func of(region: String) -> AWSPartition {
        if region.hasPrefix("cn-") { return .awsCN }
        if region.hasPrefix("us-gov-") { return .awsUSGov }
        return .aws
    }

    /// DNS suffix: `amazonaws.com` or `amazonaws.com.cn`.
    public var dnsSuffix: String { self == .awsCN ? "amazonaws.com.cn" : "amazonaws.com" }

    /// Where the global IAM service lives, and the region to sign for.
    public var iamEndpoint: (host: String, signingRegion: String) {
        switch self {
        case .aws: return ("iam.amazonaws.com", "us-east-1")
        case .awsCN: return ("iam.cn-north-1.amazonaws.com.cn", "cn-north-1")
        case .awsUSGov: return ("iam.us-gov.amazonaws.com", "us-gov-west-1")
        }
    }
}

/// The services this module talks to.
public enum AWSService: String, Sendable, CaseIterable {
    case iam, sts, eks

    /// SigV4 signing name.
    public var signingName: String { rawValue }
    /// Suffix of the service-specific endpoint variable (`AWS_ENDPOINT_URL_IAM`).
    public var envSuffix: String { rawValue.uppercased() }
    /// `services` section key in the shared config.
    public var configKey: String { rawValue }
}

/// A resolved endpoint: where to send and how to sign.
public struct AWSEndpoint: Sendable, Hashable {
    /// `https://iam.amazonaws.com` or a custom URL (no trailing slash).
    public var url: String
    /// Region for the credential scope.
    public var signingRegion: String
    /// Service name for the credential scope.
    public var signingName: String
    /// True when it came from an override (`AWS_ENDPOINT_URL*`, `endpoint_url`).
    public var isCustom: Bool

    /// `host[:port]` for the Host header: the URL's (the port only when not the scheme's default). Parsed by hand:
    /// URLComponents.host loads ICU's IDNA tables on every first call (~1 MiB).
    public var hostHeader: String {
        guard let sep = url.firstRange(of: "://") else { return "" }
        let scheme = url[..<sep.lowerBound].lowercased()
        let authority = url[sep.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority
        var host = hostPort
        var port: Int?
        if let colon = hostPort.lastIndex(of: ":"), !hostPort[colon...].contains(where: { $0 == "]" }) {
            host = hostPort[..<colon]
            port = Int(hostPort[hostPort.index(after: colon)...])
        }
        if host.isEmpty { return "" }
        if let port, !((scheme == "https" && port == 443) || (scheme == "http" && port == 80)) {
            return "\(host):\(port)"
        }
        return String(host)
    }
}

/// Builds ARNs in the right partition.
public enum ARN {
    /// `arn:PARTITION:iam::ACCOUNT:role/NAME` (path `/a/b/` included when given).
    public static func iamRole(_ name: String, account: String, partition: AWSPartition, path: String = "/") -> String {
        "arn:\(partition.rawValue):iam::\(account):role\(normalizedPath(path))\(name)"
    }
    /// `arn:PARTITION:iam::ACCOUNT:policy/NAME`.
    public static func iamPolicy(_ name: String, account: String, partition: AWSPartition, path: String = "/") -> String {
        "arn:\(partition.rawValue):iam::\(account):policy\(normalizedPath(path))\(name)"
    }
    /// AWS managed policy: `arn:PARTITION:iam::aws:policy/NAME`.
    public static func awsManagedPolicy(_ name: String, partition: AWSPartition) -> String {
        "arn:\(partition.rawValue):iam::aws:policy/\(name)"
    }
    /// `arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST/PATH` from an issuer URL (scheme and port dropped).
    public static func oidcProvider(issuer: String, account: String, partition: AWSPartition) -> String {
        "arn:\(partition.rawValue):iam::\(account):oidc-provider/\(oidcProviderPath(issuer))"
    }
    /// The issuer without `https://` and without a port: `oidc.eks.us-west-2.amazonaws.com/id/ABC`.
    public static func oidcProviderPath(_ issuer: String) -> String {
        var s = issuer
        if let r = s.firstRange(of: "://") { s = String(s[r.upperBound...]) }
        while s.hasSuffix("/") { s.removeLast() }
        if let slash = s.firstIndex(of: "/") {
            var host = String(s[..<slash])
            if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
            return host + s[slash...]
        }
        if let colon = s.lastIndex(of: ":") { return String(s[..<colon]) }
        return s
    }
    /// The partition named in an ARN (`arn:aws-cn:…` → .awsCN), nil if it is not an ARN.
    public static func partition(of arn: String) -> AWSPartition? {
        let parts = arn.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "arn" else { return nil }
        return AWSPartition(rawValue: String(parts[1]))
    }
    /// The account id in an ARN.
    public static func account(of arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 6, parts[0] == "arn" else { return nil }
        return String(parts[4])
    }

    private static func normalizedPath(_ p: String) -> String {
        guard !p.isEmpty, p != "/" else { return "/" }
        var s = p
        if !s.hasPrefix("/") { s = "/" + s }
        if !s.hasSuffix("/") { s += "/" }
        return s
    }
}

/// Region, profile and endpoint settings, resolved the way the AWS CLI does.
public struct AWSConfiguration: Sendable {
    /// The process environment (or a test's dictionary).
    public var environment: [String: String]
    /// Home directory for `~/.aws/…`.
    public var homeDirectory: String?
    /// The profile in effect (`explicit`, else `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`, else `default`).
    public var profile: String
    /// True when the caller named the profile explicitly (then environment keys are not used, as in botocore).
    public var profileIsExplicit: Bool
    /// The shared config files.
    public var shared: SharedConfig
    /// The region, if any was found.
    public var region: String?
    /// Where the region came from (`explicit`, `AWS_REGION`, `AWS_DEFAULT_REGION`, `profile NAME`).
    public var regionSource: String?

    /// Reads environment and files.
    ///
    /// - Parameters:
    ///   - environment: variables to consult (pass a dictionary in tests).
    ///   - homeDirectory: defaults to `HOME`.
    ///   - profile: overrides `AWS_PROFILE`.
    ///   - region: overrides every other region source.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        homeDirectory: String? = nil, profile: String? = nil, region: String? = nil
    ) -> AWSConfiguration {
        let shared = SharedConfig.load(environment: environment, homeDirectory: homeDirectory)
        return AWSConfiguration(environment: environment, homeDirectory: homeDirectory, profile: profile, region: region, shared: shared)
    }

    /// Builds from an already parsed `SharedConfig`.
    public init(environment: [String: String], homeDirectory: String?, profile: String?, region: String?, shared: SharedConfig) {
        self.environment = environment
        self.homeDirectory = homeDirectory
        self.shared = shared
        func env(_ k: String) -> String? { environment[k].flatMap { $0.isEmpty ? nil : $0 } }
        if let profile, !profile.isEmpty {
            self.profile = profile
            self.profileIsExplicit = true
        } else {
            self.profile = env("AWS_PROFILE") ?? env("AWS_DEFAULT_PROFILE") ?? "default"
            self.profileIsExplicit = false
        }
        if let region, !region.isEmpty {
            self.region = region; self.regionSource = "explicit"
        } else if let r = env("AWS_REGION") {
            self.region = r; self.regionSource = "AWS_REGION"
        } else if let r = env("AWS_DEFAULT_REGION") {
            self.region = r; self.regionSource = "AWS_DEFAULT_REGION"
        } else if let r = shared.value("region", profile: self.profile) {
            self.region = r; self.regionSource = "profile \(self.profile)"
        } else {
            self.region = nil; self.regionSource = nil
        }
    }

    /// The partition of the configured region (aws when no region).
    public var partition: AWSPartition { AWSPartition.of(region: region ?? "us-east-1") }

    /// A custom endpoint for `service`, from (in order) `AWS_ENDPOINT_URL_<SVC>`,
    /// `AWS_ENDPOINT_URL`, the profile's `services` section, the profile's `endpoint_url`.
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` disables all of them.
    public func customEndpoint(for service: AWSService) -> String? {
        customEndpointAndSource(for: service)?.url
    }

    /// The custom endpoint and where it was set (`AWS_ENDPOINT_URL_IAM`, `endpoint_url of profile dev`, …).
    public func customEndpointAndSource(for service: AWSService) -> (url: String, source: String)? {
        func env(_ k: String) -> String? { environment[k].flatMap { $0.isEmpty ? nil : $0 } }
        let ignore = (env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") ?? shared.value("ignore_configured_endpoint_urls", profile: profile))?.lowercased() == "true"
        if ignore { return nil }
        let specific = "AWS_ENDPOINT_URL_\(service.envSuffix)"
        if let u = env(specific) { return (u, specific) }
        if let u = env("AWS_ENDPOINT_URL") { return (u, "AWS_ENDPOINT_URL") }
        if let section = shared.value("services", profile: profile),
           let u = shared.services[section]?["\(service.configKey).endpoint_url"], !u.isEmpty {
            return (u, "\(service.configKey) endpoint_url of [services \(section)]")
        }
        return shared.value("endpoint_url", profile: profile).map { ($0, "endpoint_url of profile \(profile)") }
    }

    /// Why `url` cannot be an endpoint, or nil: it is `http://` or `https://`, a host, an optional
    /// port from 1 to 65535 and an optional path, without spaces or control characters.
    public static func endpointProblem(_ url: String) -> String? {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            return "it does not start with http:// or https://"
        }
        if url.unicodeScalars.contains(where: { $0.value <= 32 || $0.value == 127 }) {
            return "it holds a space or a control character"
        }
        guard let c = URLComponents(string: url), let host = c.host, !host.isEmpty else { return "it has no host name" }
        if let port = c.port, !(1...65535).contains(port) { return "its port \(port) is not between 1 and 65535" }
        return nil
    }

    /// The endpoint to call for `service`. IAM is global per partition; STS and EKS are regional
    /// (STS without a region uses the global `sts.amazonaws.com`). Throws when EKS has no region.
    public func endpoint(for service: AWSService) throws(AWSConfigurationError) -> AWSEndpoint {
        try validate()
        let found = customEndpointAndSource(for: service)
        if let found, let problem = AWSConfiguration.endpointProblem(found.url) {
            throw .invalidEndpoint(source: found.source, url: SecretText.redactedURL(found.url), problem: problem)
        }
        let custom = found.map { f in f.url.hasSuffix("/") ? String(f.url.dropLast()) : f.url }
        switch service {
        case .iam:
            let p = partition
            let e = p.iamEndpoint
            return AWSEndpoint(url: custom ?? "https://\(e.host)", signingRegion: e.signingRegion, signingName: "iam", isCustom: custom != nil)
        case .sts, .eks:
            guard let region else {
                if service == .sts {
                    if let custom { return AWSEndpoint(url: custom, signingRegion: "us-east-1", signingName: "sts", isCustom: true) }
                    // Without a region, STS falls back to its global endpoint (as botocore's legacy mode does).
                    return AWSEndpoint(url: "https://sts.amazonaws.com", signingRegion: "us-east-1", signingName: "sts", isCustom: false)
                }
                throw AWSConfigurationError.noRegion(profile: profile)
            }
            let host = "\(service.rawValue).\(region).\(AWSPartition.of(region: region).dnsSuffix)"
            return AWSEndpoint(url: custom ?? "https://\(host)", signingRegion: region, signingName: service.signingName, isCustom: custom != nil)
        }
    }

    /// What the AWS CLI refuses before any request: a region that is not a region name (it would
    /// go into host names and signatures) and a named profile that no file defines.
    public func validate() throws(AWSConfigurationError) {
        if let problem = shared.problems.first { throw .malformedFile(problem) }
        if let region, !AWSConfiguration.isRegionName(region) { throw .invalidRegion(region) }
        if profile != "default", shared.profiles[profile] == nil, shared.credentialsFileProfiles[profile] == nil {
            throw .profileNotFound(profile)
        }
    }

    /// `us-west-2`, `cn-north-1`: letters, digits and inner dashes (botocore's check).
    public static func isRegionName(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= 63 else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        return alnum(u.first!) && alnum(u.last!) && u.allSatisfy { alnum($0) || $0 == 45 }
    }
}

/// Configuration problems found before any request is made.
public enum AWSConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    case noRegion(profile: String)
    case invalidRegion(String)
    case profileNotFound(String)
    case malformedFile(String)
    /// A custom endpoint that is not a URL: where it was set, the value (its user info and query
    /// redacted) and why.
    case invalidEndpoint(source: String, url: String, problem: String)
    /// `SGK_CONNECT_TIMEOUT` / `SGK_REQUEST_TIMEOUT` that is not a number of seconds.
    case invalidTimeout(TimeoutSetting.Invalid)
    public var description: String {
        switch self {
        case .invalidTimeout(let e):
            return e.description
        case .noRegion(let profile):
            return "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, `region` in profile \(profile), or pass a region"
        case .invalidRegion(let r):
            return "'\(r)' is not an AWS region name"
        case .profileNotFound(let p):
            return "the AWS profile '\(p)' could not be found"
        case .malformedFile(let problem):
            return "cannot read the AWS config: \(problem)"
        case .invalidEndpoint(let source, let url, let problem):
            return "\(source) '\(url)' is not an endpoint URL: \(problem)"
        }
    }

    public var code: String {
        switch self {
        case .invalidTimeout: return "InvalidTimeout"
        case .noRegion: return "NoRegion"
        case .invalidRegion: return "InvalidRegion"
        case .profileNotFound: return "ProfileNotFound"
        case .malformedFile: return "ConfigParseError"
        case .invalidEndpoint: return "InvalidEndpoint"
        }
    }

    public var hint: String {
        switch self {
        case .noRegion: return "pass region: us-west-2, or set AWS_REGION (or a region in your AWS profile)"
        case .invalidRegion: return "a region looks like us-west-2 or cn-north-1"
        case .profileNotFound: return "AWS_PROFILE names a profile of ~/.aws/config ([profile NAME]) or ~/.aws/credentials ([NAME])"
        case .malformedFile(let problem):
            if problem.contains(" line ") { return "each setting is 'key = value' under a [section] header; the aws CLI refuses this file too" }
            return "AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/config and ~/.aws/credentials) name UTF-8 text files"
        case .invalidEndpoint: return "an endpoint looks like https://iam.example.com or http://127.0.0.1:5000"
        case .invalidTimeout(let e): return "write seconds, e.g. \(e.variable)=120 (or unset it for the default)"
        }
    }
}
