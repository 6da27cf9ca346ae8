import Foundation
import SGKData

/// An IAM tag.
public struct IAMTag: Sendable, Hashable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
}

/// An IAM role.
public struct IAMRole: Sendable, Hashable {
    public var name: String
    public var arn: String
    public var roleID: String
    public var path: String
    public var createDate: String
    /// The trust policy, URL-decoded (JSON text).
    public var assumeRolePolicyDocument: String?
    public var description: String?
    public var maxSessionDuration: Int?
    public var tags: [IAMTag]
    /// GetRole's RoleLastUsed (LastUsedDate, Region), empty when never used; nil when the response has none.
    public var roleLastUsed: [String: String]? = nil

    /// The trust policy parsed, or nil if absent or not JSON.
    public var assumeRolePolicy: JSON? { assumeRolePolicyDocument.flatMap { try? JSONCodec.parse($0) } }
}

/// A managed policy attached to a role.
public struct AttachedPolicy: Sendable, Hashable {
    public var name: String
    public var arn: String
}

/// An IAM OpenID Connect provider.
public struct OIDCProvider: Sendable, Hashable {
    public var arn: String
    /// As IAM stores it: host/path without scheme.
    public var url: String
    public var clientIDs: [String]
    public var thumbprints: [String]
    public var createDate: String?
    public var tags: [IAMTag]
}

/// A managed policy.
public struct IAMPolicy: Sendable, Hashable {
    public var name: String
    public var arn: String
    public var policyID: String
    public var path: String
    public var defaultVersionID: String
    public var attachmentCount: Int
    public var description: String?
    public var createDate: String
    public var updateDate: String?
}

/// One version of a managed policy.
public struct IAMPolicyVersion: Sendable, Hashable {
    public var versionID: String
    public var isDefault: Bool
    /// URL-decoded policy JSON (only from GetPolicyVersion).
    public var document: String?
    public var createDate: String?
}

/// IAM (API version 2010-05-08): global, endpoint and signing region per partition.
public struct IAM: Sendable {
    public static let apiVersion = "2010-05-08"
    let client: AWSClient

    func call(_ action: String, _ params: [QueryParameter]) async throws -> XMLNode {
        let x = try await client.queryAction(.iam, action: action, version: IAM.apiVersion, parameters: params)
        return x.child("\(action)Result") ?? x
    }

    static func listParams(_ name: String, _ values: [String]) -> [QueryParameter] {
        values.enumerated().map { QueryParameter("\(name).member.\($0.offset + 1)", $0.element) }
    }

    static func tagParams(_ tags: [IAMTag]) -> [QueryParameter] {
        tags.enumerated().flatMap { i, t in
            [QueryParameter("Tags.member.\(i + 1).Key", t.key), QueryParameter("Tags.member.\(i + 1).Value", t.value)]
        }
    }

    /// IAM returns policy documents URL-encoded; this decodes them (leaving raw JSON alone).
    public static func decodeDocument(_ s: String) -> String {
        let first = s.utf8.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") { return s }
        return URIEncoding.decode(s)
    }

    static func tags(_ n: XMLNode?) -> [IAMTag] {
        (n?.all("member") ?? []).map { IAMTag($0.string("Key") ?? "", $0.string("Value") ?? "") }
    }

    static func role(_ n: XMLNode?) throws -> IAMRole {
        guard let n, let name = n.string("RoleName"), let arn = n.string("Arn") else {
            throw AWSResponseError(service: "iam", operation: "Role", message: "no Role in the response")
        }
        return IAMRole(
            name: name, arn: arn, roleID: n.string("RoleId") ?? "", path: n.string("Path") ?? "/",
            createDate: n.string("CreateDate") ?? "", assumeRolePolicyDocument: n.string("AssumeRolePolicyDocument").map(decodeDocument),
            description: n.string("Description"), maxSessionDuration: n.string("MaxSessionDuration").flatMap { Int($0) },
            tags: tags(n.child("Tags")),
            roleLastUsed: n.child("RoleLastUsed").map { u in
                Dictionary(u.children.compactMap { c in c.string().map { (c.name, $0) } }, uniquingKeysWith: { _, b in b })
            })
    }

    static func policy(_ n: XMLNode?) throws -> IAMPolicy {
        guard let n, let name = n.string("PolicyName"), let arn = n.string("Arn") else {
            throw AWSResponseError(service: "iam", operation: "Policy", message: "no Policy in the response")
        }
        return IAMPolicy(
            name: name, arn: arn, policyID: n.string("PolicyId") ?? "", path: n.string("Path") ?? "/",
            defaultVersionID: n.string("DefaultVersionId") ?? "", attachmentCount: n.string("AttachmentCount").flatMap { Int($0) } ?? 0,
            description: n.string("Description"), createDate: n.string("CreateDate") ?? "", updateDate: n.string("UpdateDate"))
    }

    /// Follows `Marker` until `IsTruncated` is false; `collect` reads one page's result element.
    func paginate<T>(_ action: String, _ params: [QueryParameter], pageSize: Int? = nil, _ collect: (XMLNode) -> [T]) async throws -> [T] {
        var all: [T] = []
        var params = params
        if let pageSize { params.append(QueryParameter("MaxItems", String(pageSize))) }
        var marker: String?
        var pages = 0
        repeat {
            var p = params
            if let marker { p.append(QueryParameter("Marker", marker)) }
            let r = try await call(action, p)
            all += collect(r)
            marker = r.string("IsTruncated") == "true" ? r.string("Marker") : nil
            pages += 1
        } while marker != nil && pages < 1000
        return all
    }

    // MARK: roles

    /// `iam create-role`. Throws `AWSError` with code `EntityAlreadyExists` when it exists.
    public func createRole(name: String, assumeRolePolicyDocument: String, description: String? = nil, path: String? = nil,
                           maxSessionDuration: Int? = nil, permissionsBoundary: String? = nil, tags: [IAMTag] = []) async throws -> IAMRole {
        var p = [QueryParameter("RoleName", name), QueryParameter("AssumeRolePolicyDocument", assumeRolePolicyDocument)]
        if let description { p.append(QueryParameter("Description", description)) }
        if let path { p.append(QueryParameter("Path", path)) }
        if let maxSessionDuration { p.append(QueryParameter("MaxSessionDuration", String(maxSessionDuration))) }
        if let permissionsBoundary { p.append(QueryParameter("PermissionsBoundary", permissionsBoundary)) }
        p += IAM.tagParams(tags)
        return try IAM.role(try await call("CreateRole", p).child("Role"))
    }

    /// `iam get-role` (the trust policy comes back decoded). `NoSuchEntity` when absent.
    public func getRole(name: String) async throws -> IAMRole {
        try IAM.role(try await call("GetRole", [QueryParameter("RoleName", name)]).child("Role"))
    }

    /// `iam list-roles`, all pages (each with its trust policy), optionally under a path prefix.
    public func listRoles(pathPrefix: String? = nil) async throws -> [IAMRole] {
        try await paginate("ListRoles", pathPrefix.map { [QueryParameter("PathPrefix", $0)] } ?? []) { r in
            (r.child("Roles")?.all("member") ?? []).compactMap { try? IAM.role($0) }
        }
    }

    /// `iam get-role`, nil when the role does not exist.
    public func findRole(name: String) async throws -> IAMRole? {
        do { return try await getRole(name: name) } catch let e as AWSError where e.isNotFound { return nil }
    }

    /// `iam delete-role` (detach policies and delete inline policies first; see `deleteRoleCompletely`).
    public func deleteRole(name: String) async throws {
        _ = try await call("DeleteRole", [QueryParameter("RoleName", name)])
    }

    /// Detaches managed policies, deletes inline policies, then deletes the role.
    public func deleteRoleCompletely(name: String) async throws {
        for p in try await listAttachedRolePolicies(roleName: name) {
            try await detachRolePolicy(roleName: name, policyARN: p.arn)
        }
        for p in try await listRolePolicies(roleName: name) {
            try await deleteRolePolicy(roleName: name, policyName: p)
        }
        try await deleteRole(name: name)
    }

    /// `iam update-assume-role-policy`.
    public func updateAssumeRolePolicy(roleName: String, policyDocument: String) async throws {
        _ = try await call("UpdateAssumeRolePolicy", [QueryParameter("RoleName", roleName), QueryParameter("PolicyDocument", policyDocument)])
    }

    /// `iam attach-role-policy`.
    public func attachRolePolicy(roleName: String, policyARN: String) async throws {
        _ = try await call("AttachRolePolicy", [QueryParameter("RoleName", roleName), QueryParameter("PolicyArn", policyARN)])
    }

    /// `iam detach-role-policy`.
    public func detachRolePolicy(roleName: String, policyARN: String) async throws {
        _ = try await call("DetachRolePolicy", [QueryParameter("RoleName", roleName), QueryParameter("PolicyArn", policyARN)])
    }

    /// `iam list-attached-role-policies`, all pages.
    public func listAttachedRolePolicies(roleName: String, pageSize: Int? = nil) async throws -> [AttachedPolicy] {
        try await paginate("ListAttachedRolePolicies", [QueryParameter("RoleName", roleName)], pageSize: pageSize) { r in
            (r.child("AttachedPolicies")?.all("member") ?? []).map {
                AttachedPolicy(name: $0.string("PolicyName") ?? "", arn: $0.string("PolicyArn") ?? "")
            }
        }
    }

    /// `iam list-role-policies` (inline policy names), all pages.
    public func listRolePolicies(roleName: String, pageSize: Int? = nil) async throws -> [String] {
        try await paginate("ListRolePolicies", [QueryParameter("RoleName", roleName)], pageSize: pageSize) { r in
            (r.child("PolicyNames")?.all("member") ?? []).map(\.text)
        }
    }

    /// `iam delete-role-policy` (an inline policy).
    public func deleteRolePolicy(roleName: String, policyName: String) async throws {
        _ = try await call("DeleteRolePolicy", [QueryParameter("RoleName", roleName), QueryParameter("PolicyName", policyName)])
    }

    /// `iam get-role-policy`: an inline policy's document (decoded), or nil when the role has no
    /// inline policy of that name.
    public func getRolePolicy(roleName: String, policyName: String) async throws -> String? {
        do {
            let r = try await call("GetRolePolicy", [QueryParameter("RoleName", roleName), QueryParameter("PolicyName", policyName)])
            return r.string("PolicyDocument").map(IAM.decodeDocument)
        } catch let e as AWSError where e.code == "NoSuchEntity" {
            // The role itself missing is still an error: only an absent policy is nil.
            if (try? await getRole(name: roleName)) == nil { throw e }
            return nil
        }
    }

    /// `iam put-role-policy` (an inline policy).
    public func putRolePolicy(roleName: String, policyName: String, policyDocument: String) async throws {
        _ = try await call("PutRolePolicy", [QueryParameter("RoleName", roleName), QueryParameter("PolicyName", policyName),
                                             QueryParameter("PolicyDocument", policyDocument)])
    }

    /// `iam update-role --description`.
    public func updateRoleDescription(roleName: String, description: String) async throws {
        _ = try await call("UpdateRole", [QueryParameter("RoleName", roleName), QueryParameter("Description", description)])
    }

    /// `iam tag-role`.
    public func tagRole(roleName: String, tags: [IAMTag]) async throws {
        _ = try await call("TagRole", [QueryParameter("RoleName", roleName)] + IAM.tagParams(tags))
    }

    // MARK: OIDC providers

    /// `iam create-open-id-connect-provider`; returns the provider ARN. The URL should be `https://host/path` without a port.
    public func createOpenIDConnectProvider(url: String, clientIDs: [String] = ["sts.amazonaws.com"], thumbprints: [String] = [],
                                            tags: [IAMTag] = []) async throws -> String {
        let p = [QueryParameter("Url", url)] + IAM.listParams("ClientIDList", clientIDs) + IAM.listParams("ThumbprintList", thumbprints)
            + IAM.tagParams(tags)
        let r = try await call("CreateOpenIDConnectProvider", p)
        guard let arn = r.string("OpenIDConnectProviderArn") else {
            throw AWSResponseError(service: "iam", operation: "CreateOpenIDConnectProvider", message: "no OpenIDConnectProviderArn")
        }
        return arn
    }

    /// `iam get-open-id-connect-provider`. `NoSuchEntity` when absent.
    public func getOpenIDConnectProvider(arn: String) async throws -> OIDCProvider {
        let r = try await call("GetOpenIDConnectProvider", [QueryParameter("OpenIDConnectProviderArn", arn)])
        return OIDCProvider(
            arn: arn, url: r.string("Url") ?? "", clientIDs: (r.child("ClientIDList")?.all("member") ?? []).map(\.text),
            thumbprints: (r.child("ThumbprintList")?.all("member") ?? []).map(\.text), createDate: r.string("CreateDate"),
            tags: IAM.tags(r.child("Tags")))
    }

    /// `iam get-open-id-connect-provider`, nil when absent.
    public func findOpenIDConnectProvider(arn: String) async throws -> OIDCProvider? {
        do { return try await getOpenIDConnectProvider(arn: arn) } catch let e as AWSError where e.isNotFound { return nil }
    }

    /// `iam delete-open-id-connect-provider`.
    public func deleteOpenIDConnectProvider(arn: String) async throws {
        _ = try await call("DeleteOpenIDConnectProvider", [QueryParameter("OpenIDConnectProviderArn", arn)])
    }

    /// `iam list-open-id-connect-providers`: the provider ARNs.
    public func listOpenIDConnectProviders() async throws -> [String] {
        let r = try await call("ListOpenIDConnectProviders", [])
        return (r.child("OpenIDConnectProviderList")?.all("member") ?? []).compactMap { $0.string("Arn") }
    }

    // MARK: managed policies

    /// `iam create-policy`.
    public func createPolicy(name: String, document: String, description: String? = nil, path: String? = nil,
                             tags: [IAMTag] = []) async throws -> IAMPolicy {
        var p = [QueryParameter("PolicyName", name), QueryParameter("PolicyDocument", document)]
        if let description { p.append(QueryParameter("Description", description)) }
        if let path { p.append(QueryParameter("Path", path)) }
        p += IAM.tagParams(tags)
        return try IAM.policy(try await call("CreatePolicy", p).child("Policy"))
    }

    /// `iam get-policy`.
    public func getPolicy(arn: String) async throws -> IAMPolicy {
        try IAM.policy(try await call("GetPolicy", [QueryParameter("PolicyArn", arn)]).child("Policy"))
    }

    /// `iam get-policy-version` (the document comes back decoded).
    public func getPolicyVersion(arn: String, versionID: String) async throws -> IAMPolicyVersion {
        let r = try await call("GetPolicyVersion", [QueryParameter("PolicyArn", arn), QueryParameter("VersionId", versionID)])
        guard let v = r.child("PolicyVersion") else {
            throw AWSResponseError(service: "iam", operation: "GetPolicyVersion", message: "no PolicyVersion")
        }
        return IAMPolicyVersion(versionID: v.string("VersionId") ?? versionID, isDefault: v.string("IsDefaultVersion") == "true",
                                document: v.string("Document").map(IAM.decodeDocument), createDate: v.string("CreateDate"))
    }

    /// The policy and its default version's document.
    public func getPolicyWithDocument(arn: String) async throws -> (policy: IAMPolicy, document: String?) {
        let p = try await getPolicy(arn: arn)
        let v = try await getPolicyVersion(arn: arn, versionID: p.defaultVersionID)
        return (p, v.document)
    }

    /// `iam list-policy-versions`.
    public func listPolicyVersions(arn: String) async throws -> [IAMPolicyVersion] {
        try await paginate("ListPolicyVersions", [QueryParameter("PolicyArn", arn)]) { r in
            (r.child("Versions")?.all("member") ?? []).map {
                IAMPolicyVersion(versionID: $0.string("VersionId") ?? "", isDefault: $0.string("IsDefaultVersion") == "true",
                                 document: nil, createDate: $0.string("CreateDate"))
            }
        }
    }

    /// `iam delete-policy-version`.
    public func deletePolicyVersion(arn: String, versionID: String) async throws {
        _ = try await call("DeletePolicyVersion", [QueryParameter("PolicyArn", arn), QueryParameter("VersionId", versionID)])
    }

    /// Deletes the non-default versions, then the policy (it must be detached from everything).
    public func deletePolicy(arn: String) async throws {
        for v in try await listPolicyVersions(arn: arn) where !v.isDefault {
            try await deletePolicyVersion(arn: arn, versionID: v.versionID)
        }
        _ = try await call("DeletePolicy", [QueryParameter("PolicyArn", arn)])
    }

    /// Which policies `list-policies` returns.
    public enum PolicyScope: String, Sendable { case all = "All", aws = "AWS", local = "Local" }

    /// `iam list-policies`, all pages.
    public func listPolicies(scope: PolicyScope = .local, onlyAttached: Bool = false, pathPrefix: String? = nil,
                             pageSize: Int? = nil) async throws -> [IAMPolicy] {
        var p = [QueryParameter("Scope", scope.rawValue), QueryParameter("OnlyAttached", onlyAttached ? "true" : "false")]
        if let pathPrefix { p.append(QueryParameter("PathPrefix", pathPrefix)) }
        return try await paginate("ListPolicies", p, pageSize: pageSize) { r in
            (r.child("Policies")?.all("member") ?? []).compactMap { try? IAM.policy($0) }
        }
    }
}
