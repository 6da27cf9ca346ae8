import Foundation
import OrderedCollections
import SGKData

/// A bearer token for an EKS cluster's API server.
public struct EKSToken: Sendable, Hashable {
    /// `k8s-aws-v1.` + base64url (no padding) of the presigned URL.
    public var token: String
    /// When a client should stop using it (now + 14 minutes; the URL itself is valid 15).
    public var expiration: Date
    /// The presigned STS GetCallerIdentity URL inside the token.
    public var presignedURL: String

    /// A `client.authentication.k8s.io/v1beta1` ExecCredential, as `aws eks get-token` prints.
    public var execCredential: JSON {
        let status: OrderedDictionary<String, JSON> = [
            "expirationTimestamp": .string(SigV4Time.iso8601(expiration)),
            "token": .string(token),
        ]
        return .object([
            "kind": .string("ExecCredential"),
            "apiVersion": .string("client.authentication.k8s.io/v1beta1"),
            "spec": .object([:]),
            "status": .object(status),
        ])
    }
}

/// Builds EKS tokens: a presigned STS GetCallerIdentity URL with the signed header `x-k8s-aws-id: CLUSTER`.
public enum EKSTokenGenerator {
    /// Token lifetime reported to kubectl.
    public static let lifetime: TimeInterval = 14 * 60

    /// - Parameters:
    ///   - clusterName: the EKS cluster name (value of `x-k8s-aws-id`).
    ///   - region: STS region (the cluster's).
    ///   - stsEndpoint: default `https://sts.REGION.amazonaws.com(.cn)`.
    ///   - date: signing time.
    public static func token(clusterName: String, credentials: AWSCredentials, region: String, stsEndpoint: String? = nil,
                             date: Date = Date()) -> EKSToken {
        let base = stsEndpoint ?? "https://sts.\(region).\(AWSPartition.of(region: region).dnsSuffix)"
        let endpoint = AWSEndpoint(url: base, signingRegion: region, signingName: "sts", isCustom: stsEndpoint != nil)
        let signer = SigV4Signer(service: "sts", region: region)
        let comps = URLComponents(string: base)
        var path = comps?.path ?? ""
        if path.isEmpty { path = "/" }
        let sig = signer.presign(
            method: "GET", path: path,
            query: [QueryParameter("Action", "GetCallerIdentity"), QueryParameter("Version", "2011-06-15")],
            headers: [("host", endpoint.hostHeader), ("x-k8s-aws-id", clusterName)],
            payloadHash: PayloadHash.empty, credentials: credentials, date: date, expires: 60)
        var origin = base
        while origin.hasSuffix("/") { origin.removeLast() }
        if path != "/" { origin = String(origin.dropLast(path.count)) }
        let url = origin + path + "?" + URIEncoding.formEncode(sig.queryParameters)
        let b64 = Data(url.utf8).base64EncodedString()
            .replacingAll("+", with: "-").replacingAll("/", with: "_")
            .replacingAll("=", with: "")
        return EKSToken(token: "k8s-aws-v1." + b64, expiration: date.addingTimeInterval(lifetime), presignedURL: url)
    }
}

extension EKS {
    /// A token for `clusterName` with the client's credentials and region (`eks token`).
    public func token(clusterName: String, region: String? = nil, date: Date = Date()) async throws -> EKSToken {
        let creds = try await client.credentialProvider.credentials()
        var config = client.configuration
        if let region { config.region = region }
        let endpoint = try config.endpoint(for: .sts)
        return EKSTokenGenerator.token(clusterName: clusterName, credentials: creds, region: endpoint.signingRegion,
                                       stsEndpoint: endpoint.isCustom ? endpoint.url : nil, date: date)
    }
}
