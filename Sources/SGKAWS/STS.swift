import Foundation

/// Who the credentials belong to.
public struct CallerIdentity: Sendable, Hashable {
    public var account: String
    public var arn: String
    public var userID: String
    /// The partition named in the ARN.
    public var partition: AWSPartition? { ARN.partition(of: arn) }
}

/// The result of AssumeRole / AssumeRoleWithWebIdentity.
public struct AssumedRole: Sendable {
    public var credentials: AWSCredentials
    public var assumedRoleARN: String
    public var assumedRoleID: String
}

/// STS (API version 2011-06-15), regional endpoint.
public struct STS: Sendable {
    public static let apiVersion = "2011-06-15"
    let client: AWSClient

    /// `sts get-caller-identity`.
    public func getCallerIdentity() async throws -> CallerIdentity {
        let x = try await client.queryAction(.sts, action: "GetCallerIdentity", version: STS.apiVersion, parameters: [])
        let r = x.child("GetCallerIdentityResult") ?? x
        return CallerIdentity(account: r.string("Account") ?? "", arn: r.string("Arn") ?? "", userID: r.string("UserId") ?? "")
    }

    /// `sts assume-role`, signed with the client's credentials.
    public func assumeRole(roleARN: String, sessionName: String, externalID: String? = nil, durationSeconds: Int? = nil,
                           policy: String? = nil) async throws -> AssumedRole {
        var p = [QueryParameter("RoleArn", roleARN), QueryParameter("RoleSessionName", sessionName)]
        if let externalID { p.append(QueryParameter("ExternalId", externalID)) }
        if let durationSeconds { p.append(QueryParameter("DurationSeconds", String(durationSeconds))) }
        if let policy { p.append(QueryParameter("Policy", policy)) }
        let x = try await client.queryAction(.sts, action: "AssumeRole", version: STS.apiVersion, parameters: p,
                                             credentials: nil, sensitiveFields: [])
        return try STS.assumed(x, result: "AssumeRoleResult", operation: "AssumeRole", source: "assume-role")
    }

    /// `sts assume-role-with-web-identity` — sent unsigned, as the SDKs do.
    public func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, webIdentityToken: String,
                                          durationSeconds: Int? = nil) async throws -> AssumedRole {
        var p = [QueryParameter("RoleArn", roleARN), QueryParameter("RoleSessionName", sessionName),
                 QueryParameter("WebIdentityToken", webIdentityToken)]
        if let durationSeconds { p.append(QueryParameter("DurationSeconds", String(durationSeconds))) }
        let x = try await client.queryAction(.sts, action: "AssumeRoleWithWebIdentity", version: STS.apiVersion, parameters: p,
                                             credentials: .some(nil), sensitiveFields: ["WebIdentityToken"])
        return try STS.assumed(x, result: "AssumeRoleWithWebIdentityResult", operation: "AssumeRoleWithWebIdentity",
                               source: "assume-role-with-web-identity")
    }

    static func assumed(_ x: XMLNode, result: String, operation: String, source: String) throws -> AssumedRole {
        let r = x.child(result) ?? x
        guard let c = r.child("Credentials"), let id = c.string("AccessKeyId"), let secret = c.string("SecretAccessKey") else {
            throw AWSResponseError(service: "sts", operation: operation, message: "no Credentials in the response")
        }
        let creds = AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: c.string("SessionToken"),
                                   expiration: c.string("Expiration").flatMap(SigV4Time.parseISO8601), source: source)
        return AssumedRole(credentials: creds, assumedRoleARN: r.string("AssumedRoleUser", "Arn") ?? "",
                           assumedRoleID: r.string("AssumedRoleUser", "AssumedRoleId") ?? "")
    }
}
