import Foundation
import NIOHTTP1
import OrderedCollections
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

/// An EKS Pod Identity association as Create/Describe/Update/DeletePodIdentityAssociation return
/// it (`PodIdentityAssociation` of the EKS model), or as ListPodIdentityAssociations summarizes it
/// (`PodIdentityAssociationSummary`: no `roleArn`, no timestamps): the whole JSON plus accessors.
public struct EKSPodIdentityAssociation: Sendable, Hashable {
    /// The `association` object (or the summary), nothing dropped.
    public var json: JSON
    public init(json: JSON) { self.json = json }

    public var clusterName: String? { json["clusterName"]?.stringValue }
    public var namespace: String? { json["namespace"]?.stringValue }
    public var serviceAccount: String? { json["serviceAccount"]?.stringValue }
    /// The role the pods get (nil in a summary).
    public var roleARN: String? { json["roleArn"]?.stringValue }
    public var associationARN: String? { json["associationArn"]?.stringValue }
    /// `a-…`: the id the Describe/Update/Delete calls take.
    public var associationID: String? { json["associationId"]?.stringValue }
    /// The add-on that owns it, when an add-on made it.
    public var ownerARN: String? { json["ownerArn"]?.stringValue }
}

/// An EKS add-on as DescribeAddon returns it (`Addon` of the EKS model).
public struct EKSAddon: Sendable, Hashable {
    /// The `addon` object, nothing dropped.
    public var json: JSON
    public init(json: JSON) { self.json = json }

    public var name: String? { json["addonName"]?.stringValue }
    /// `CREATING`, `ACTIVE`, `CREATE_FAILED`, `UPDATING`, `DELETING`, `DELETE_FAILED`, `DEGRADED`, `UPDATE_FAILED`.
    public var status: String? { json["status"]?.stringValue }
    public var version: String? { json["addonVersion"]?.stringValue }
    /// `health.issues[].code` (`InsufficientNumberOfReplicas`, …).
    public var issueCodes: [String] { (json.at("health", "issues")?.arrayValue ?? []).compactMap { $0["code"]?.stringValue } }
}

extension EKS {
    static func associationsPath(_ cluster: String) -> String { "/clusters/\(URIEncoding.encode(cluster))/pod-identity-associations" }
    static func associationPath(_ cluster: String, _ id: String) -> String { associationsPath(cluster) + "/\(URIEncoding.encode(id))" }

    static func association(_ r: JSON, _ operation: String) throws -> EKSPodIdentityAssociation {
        guard let a = r["association"], case .object = a else {
            throw AWSResponseError(service: "eks", operation: operation, message: "no association in the response")
        }
        return EKSPodIdentityAssociation(json: a)
    }

    /// `eks create-pod-identity-association`. `ResourceInUseException` when the namespace and
    /// service account already have one in the cluster. A fresh `clientRequestToken` is sent, as
    /// the SDKs send one (the model marks it an idempotency token).
    public func createPodIdentityAssociation(cluster: String, namespace: String, serviceAccount: String, roleARN: String,
                                             tags: [String: String] = [:]) async throws -> EKSPodIdentityAssociation {
        var body: OrderedDictionary<String, JSON> = [
            "namespace": .string(namespace), "serviceAccount": .string(serviceAccount), "roleArn": .string(roleARN),
            "clientRequestToken": .string(UUID().uuidString.lowercased()),
        ]
        if !tags.isEmpty { body["tags"] = .object(OrderedDictionary(uniqueKeysWithValues: tags.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })) }
        let r = try await client.restJSON(.eks, operation: "CreatePodIdentityAssociation", method: .POST, path: Self.associationsPath(cluster), body: .object(body))
        return try Self.association(r, "CreatePodIdentityAssociation")
    }

    /// `eks describe-pod-identity-association`. `ResourceNotFoundException` when absent.
    public func describePodIdentityAssociation(cluster: String, id: String) async throws -> EKSPodIdentityAssociation {
        let r = try await client.restJSON(.eks, operation: "DescribePodIdentityAssociation", method: .GET, path: Self.associationPath(cluster, id))
        return try Self.association(r, "DescribePodIdentityAssociation")
    }

    /// `eks list-pod-identity-associations`, all pages (following `nextToken`), optionally only
    /// those of a namespace and/or service account. Summaries: no `roleArn` (describe each for it).
    public func listPodIdentityAssociations(cluster: String, namespace: String? = nil, serviceAccount: String? = nil,
                                            pageSize: Int = 100) async throws -> [EKSPodIdentityAssociation] {
        var out: [EKSPodIdentityAssociation] = []
        var token: String?
        var pages = 0
        repeat {
            var q = [QueryParameter("maxResults", String(min(100, max(1, pageSize))))]
            if let namespace { q.append(QueryParameter("namespace", namespace)) }
            if let serviceAccount { q.append(QueryParameter("serviceAccount", serviceAccount)) }
            if let token { q.append(QueryParameter("nextToken", token)) }
            let r = try await client.restJSON(.eks, operation: "ListPodIdentityAssociations", method: .GET, path: Self.associationsPath(cluster), query: q)
            out += (r["associations"]?.arrayValue ?? []).map(EKSPodIdentityAssociation.init(json:))
            token = r["nextToken"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            pages += 1
        } while token != nil && pages < 1000
        return out
    }

    /// `eks update-pod-identity-association --role-arn`: the role the pods get.
    public func updatePodIdentityAssociation(cluster: String, id: String, roleARN: String) async throws -> EKSPodIdentityAssociation {
        let body: JSON = .object(["roleArn": .string(roleARN), "clientRequestToken": .string(UUID().uuidString.lowercased())])
        let r = try await client.restJSON(.eks, operation: "UpdatePodIdentityAssociation", method: .POST, path: Self.associationPath(cluster, id), body: body)
        return try Self.association(r, "UpdatePodIdentityAssociation")
    }

    /// `eks delete-pod-identity-association`; returns the association deleted.
    @discardableResult
    public func deletePodIdentityAssociation(cluster: String, id: String) async throws -> EKSPodIdentityAssociation {
        let r = try await client.restJSON(.eks, operation: "DeletePodIdentityAssociation", method: .DELETE, path: Self.associationPath(cluster, id))
        return try Self.association(r, "DeletePodIdentityAssociation")
    }

    /// `eks describe-addon`. `ResourceNotFoundException` when the add-on is not installed (or
    /// the cluster does not exist: the message says which).
    public func describeAddon(cluster: String, name: String) async throws -> EKSAddon {
        let r = try await client.restJSON(.eks, operation: "DescribeAddon", method: .GET,
                                          path: "/clusters/\(URIEncoding.encode(cluster))/addons/\(URIEncoding.encode(name))")
        guard let a = r["addon"], case .object = a else {
            throw AWSResponseError(service: "eks", operation: "DescribeAddon", message: "no addon in the response")
        }
        return EKSAddon(json: a)
    }
}
