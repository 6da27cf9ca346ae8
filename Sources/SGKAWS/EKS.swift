import Foundation
import NIOHTTP1
import SGKData

/// An EKS cluster as DescribeCluster returns it: the whole JSON plus typed accessors.
public struct EKSCluster: Sendable, Hashable {
    /// The `cluster` object, nothing dropped.
    public var json: JSON
    public init(json: JSON) { self.json = json }

    public var name: String? { json["name"]?.stringValue }
    public var arn: String? { json["arn"]?.stringValue }
    /// API server URL.
    public var endpoint: String? { json["endpoint"]?.stringValue }
    /// Base64 PEM of the cluster CA.
    public var certificateAuthorityData: String? { json.at("certificateAuthority", "data")?.stringValue }
    /// The OIDC issuer URL (`https://oidc.eks.REGION.amazonaws.com/id/…`).
    public var oidcIssuer: String? { json.at("identity", "oidc", "issuer")?.stringValue }
    /// `CREATING`, `ACTIVE`, …
    public var status: String? { json["status"]?.stringValue }
    /// Kubernetes version (`1.29`).
    public var version: String? { json["version"]?.stringValue }
    public var roleARN: String? { json["roleArn"]?.stringValue }
    public var platformVersion: String? { json["platformVersion"]?.stringValue }
}

/// EKS (rest-json), regional endpoint.
public struct EKS: Sendable {
    let client: AWSClient

    /// `eks list-clusters`, all pages.
    public func listClusters(pageSize: Int = 100) async throws -> [String] {
        var names: [String] = []
        var token: String?
        var pages = 0
        repeat {
            var q = [QueryParameter("maxResults", String(pageSize))]
            if let token { q.append(QueryParameter("nextToken", token)) }
            let r = try await client.restJSON(.eks, operation: "ListClusters", method: .GET, path: "/clusters", query: q)
            names += (r["clusters"]?.arrayValue ?? []).compactMap(\.stringValue)
            token = r["nextToken"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            pages += 1
        } while token != nil && pages < 1000
        return names
    }

    /// `eks describe-cluster`. `ResourceNotFoundException` when absent.
    public func describeCluster(name: String) async throws -> EKSCluster {
        let r = try await client.restJSON(.eks, operation: "DescribeCluster", method: .GET, path: "/clusters/\(URIEncoding.encode(name))")
        guard let c = r["cluster"] else {
            throw AWSResponseError(service: "eks", operation: "DescribeCluster", message: "no cluster in the response")
        }
        return EKSCluster(json: c)
    }
}
