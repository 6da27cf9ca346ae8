import Foundation
import OrderedCollections
import SGKAWS
import SGKData
import SGKLanguage

extension AWSError: UserFacingError {
    public var errorCode: String? { code }
    public var errorMessage: String { message }
    public var errorHint: String? { hint }
    public var errorData: [String: Value] {
        var d: [String: Value] = ["service": .string(service), "operation": .string(operation), "status": .int(statusCode)]
        if let requestID { d["requestId"] = .string(requestID) }
        return d
    }
}

extension AWSTransportError: UserFacingError {
    public var errorCode: String? { "ConnectionError" }
    public var errorMessage: String { description }
    public var errorHint: String? {
        maybeReceived
            ? "read the resource back (get or list it) before trying again: a create or delete is not repeated blindly"
            : "check the network and the endpoint: the region, AWS_ENDPOINT_URL (or the profile's endpoint_url) and any HTTPS_PROXY"
    }
    public var errorData: [String: Value] {
        ["service": .string(service), "operation": .string(operation), "url": .string(url), "outcomeUnknown": .bool(maybeReceived)]
    }
}

/// The run's AWS clients, one per region, made on first use.
final class AWSClients: @unchecked Sendable {
    let context: CallContext
    let lock = NSLock()
    var clients: [String: AWSClient] = [:]
    var identities: [String: CallerIdentity] = [:]
    /// DescribeCluster's answers of this run, by "region/name".
    private var described: [String: EKSCluster] = [:]

    init(context: CallContext) { self.context = context }

    func describedCluster(_ key: String) -> EKSCluster? {
        lock.lock(); defer { lock.unlock() }
        return described[key]
    }

    func remember(_ cluster: EKSCluster, _ key: String) {
        lock.lock(); defer { lock.unlock() }
        described[key] = cluster
    }

    static func of(_ context: CallContext) -> AWSClients { context.service(AWSClients.self) { AWSClients(context: context) } }

    func configuration(region: String?) -> AWSConfiguration {
        AWSConfiguration.load(environment: context.environment, homeDirectory: context.environment["HOME"], region: region)
    }

    func client(region: String?) -> AWSClient {
        lock.lock()
        defer { lock.unlock() }
        let key = region ?? ""
        if let c = clients[key] { return c }
        var logger = context.logger
        logger[metadataKey: "service"] = "aws"
        if context.options.verbose { logger.logLevel = .debug }
        let c = AWSClient(configuration: configuration(region: region), logger: logger)
        clients[key] = c
        context.onShutdown { try? await c.shutdown() }
        return c
    }

    /// The caller's identity (cached per region for the run).
    func identity(region: String?) throws -> CallerIdentity {
        lock.lock()
        if let i = identities[region ?? ""] { lock.unlock(); return i }
        lock.unlock()
        let c = client(region: region)
        let i = try context.wait { try await c.sts.getCallerIdentity() }
        lock.lock(); identities[region ?? ""] = i; lock.unlock()
        return i
    }

    func requireRegion(_ region: String?, for command: String) throws -> String {
        if let r = region ?? configuration(region: nil).region { return r }
        throw CommandError("no AWS region is set", code: "NoRegion",
                           hint: "pass region: us-west-2, or set AWS_REGION (or a region in your AWS profile)", argument: .keyword("region"))
    }
}

// MARK: values

extension Value {
    static func ordered(_ pairs: [(String, Value?)]) -> Value {
        var m = OrderedDictionary<String, Value>()
        for (k, v) in pairs { if let v { m[k] = v } }
        return .map(m)
    }
}

enum AWSValues {
    static func tags(_ tags: [IAMTag]) -> Value { .list(tags.map { .ordered([("Key", .string($0.key)), ("Value", .string($0.value))]) }) }

    static func document(_ text: String?) -> Value? {
        guard let text else { return nil }
        if let j = try? JSONCodec.parse(text) { return Value(json: j) }
        return .string(text)
    }

    static func role(_ r: IAMRole) -> Value {
        .ordered([
            ("RoleName", .string(r.name)), ("Arn", .string(r.arn)), ("RoleId", .string(r.roleID)), ("Path", .string(r.path)),
            ("CreateDate", .string(r.createDate)), ("AssumeRolePolicyDocument", document(r.assumeRolePolicyDocument)),
            ("Description", r.description.map(Value.string)), ("MaxSessionDuration", r.maxSessionDuration.map(Value.int)),
            ("Tags", tags(r.tags)),
            ("RoleLastUsed", r.roleLastUsed.map { u in Value.ordered(["LastUsedDate", "Region"].map { k in (k, u[k].map(Value.string)) }) }),
        ])
    }

    static func plannedRole(name: String, arn: String, trust: Value, description: String?) -> Value {
        .ordered([("RoleName", .string(name)), ("Arn", .string(arn)), ("RoleId", .string("(planned)")), ("Path", .string("/")),
                  ("AssumeRolePolicyDocument", trust), ("Description", description.map(Value.string)), ("Tags", .list([]))])
    }

    static func provider(_ p: OIDCProvider, cluster: String? = nil) -> Value {
        .ordered([
            ("Arn", .string(p.arn)), ("Url", .string(p.url)), ("Issuer", .string("https://" + p.url)),
            ("ClientIDList", .list(p.clientIDs.map(Value.string))), ("ThumbprintList", .list(p.thumbprints.map(Value.string))),
            ("CreateDate", p.createDate.map(Value.string)), ("Cluster", cluster.map(Value.string)), ("Tags", tags(p.tags)),
        ])
    }

    static func policy(_ p: IAMPolicy, document: String?) -> Value {
        .ordered([
            ("PolicyName", .string(p.name)), ("Arn", .string(p.arn)), ("PolicyId", .string(p.policyID)), ("Path", .string(p.path)),
            ("DefaultVersionId", .string(p.defaultVersionID)), ("AttachmentCount", .int(p.attachmentCount)),
            ("Description", p.description.map(Value.string)), ("CreateDate", .string(p.createDate)),
            ("Document", AWSValues.document(document)),
        ])
    }

    /// A policy document argument (a map or JSON text) as compact JSON text and as a value,
    /// checked for IAM's required structure (`trust`: a role's trust policy, else a permissions
    /// policy) so that a malformed one fails here, before any write — in a dry run too.
    static func policyDocument(_ v: Value, _ what: String, _ ref: CommandError.ArgumentRef, trust: Bool) throws -> (String, Value) {
        let json: JSON
        switch v {
        case .map: json = v.json
        case .string(let s):
            guard let j = try? JSONCodec.parse(s) else {
                throw CommandError("\(what) is not valid JSON", hint: "pass a map, e.g. (irsa trust …), or JSON text", argument: ref)
            }
            json = j
        default:
            throw CommandError("\(what) must be a map or JSON text, not \(v.typeName)", argument: ref)
        }
        if let problem = IAMValidation.policyDocumentProblem(json, trust: trust) {
            throw CommandError("\(what) \(problem)", code: "MalformedPolicyDocument",
                               hint: trust ? "irsa trust provider: … namespace: … service-account: … makes a trust policy for a service account"
                                           : "a statement is {Effect: Allow, Action: [\"s3:GetObject\"], Resource: [\"arn:aws:s3:::bucket/*\"]}",
                               argument: ref)
        }
        if case .map = v { return (JSONCodec.serialize(json, pretty: false), v) }
        return (JSONCodec.serialize(json, pretty: false), Value(json: json))
    }

    /// Whether two policy documents say the same, as IAM reads them: a lone statement or value is a
    /// list of one, the order of `Action`, `Resource`, `Principal` and condition values does not
    /// matter, and an account's root ARN as an AWS principal is its account id (IAM turns one into the other).
    static func samePolicy(_ a: Value, _ b: Value) -> Bool { a == b || normalizedPolicy(a) == normalizedPolicy(b) }

    static func normalizedPolicy(_ v: Value) -> Value {
        guard case .map(var doc) = v else { return v }
        func list(_ x: Value) -> [Value] { if case .list(let l) = x { return l }; return [x] }
        func set(_ x: Value) -> Value {
            .list(list(x).sorted { $0.text < $1.text })
        }
        func principal(_ x: Value) -> Value {
            guard case .map(var m) = x else { return x }   // "*"
            for (k, val) in m {
                var items = list(val)
                if k == "AWS" {
                    // `arn:PARTITION:iam::ACCOUNT:root` and `ACCOUNT` are the same principal.
                    items = items.map { item in
                        if case .string(let s) = item, s.hasPrefix("arn:"), s.hasSuffix(":root") {
                            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
                            if parts.count == 6, parts[2] == "iam", parts[5] == "root" { return .string(String(parts[4])) }
                        }
                        return item
                    }
                }
                m[k] = set(.list(items))
            }
            return .map(m)
        }
        if let st = doc["Statement"] {
            doc["Statement"] = .list(list(st).map { s in
                guard case .map(var m) = s else { return s }
                for key in ["Action", "NotAction", "Resource", "NotResource"] { if let x = m[key] { m[key] = set(x) } }
                for key in ["Principal", "NotPrincipal"] { if let x = m[key] { m[key] = principal(x) } }
                if case .map(var cond)? = m["Condition"] {
                    for (op, body) in cond {
                        guard case .map(var kv) = body else { continue }
                        for (k, val) in kv { kv[k] = set(val) }
                        cond[op] = .map(kv)
                    }
                    m["Condition"] = .map(cond)
                }
                return .map(m)
            })
        }
        return .map(doc)
    }

    /// A pretty JSON diff in document order (`LineDiff`): `- ` only in `old`, `+ ` only in `new`, context around.
    static func diff(_ old: Value, _ new: Value) -> String {
        let a = JSONCodec.serialize(old.json, pretty: true).split(separator: "\n").map(String.init)
        let b = JSONCodec.serialize(new.json, pretty: true).split(separator: "\n").map(String.init)
        return LineDiff.render(a, b)
    }
}

extension AWSConfigurationError: UserFacingError {
    public var errorCode: String? { code }
    public var errorMessage: String { description }
    public var errorHint: String? { hint }
    public var errorData: [String: Value] { [:] }
}

extension CredentialsError: UserFacingError {
    public var errorCode: String? { code }
    public var errorMessage: String { description }
    public var errorHint: String? { hint }
    public var errorData: [String: Value] { [:] }
}

// MARK: writes whose answer may be lost

/// What one IAM write means, to settle it when its answer is lost (see `AWSLibrary.settle`).
struct IAMWriteIntent {
    /// The API operation, e.g. `CreateRole`.
    var operation: String
    /// True for a create (settled when the resource is there as intended), false for a delete or
    /// detach (settled when it is gone).
    var creates: Bool
    /// What the read-back found when the write is done, e.g. `the role is there as intended`.
    var done: String
    /// What it found when it is not, e.g. `the role is not there`.
    var notDone: String
    /// The unchanged detail of a delete the service says had nothing to delete, e.g. `already detached`.
    var alreadyDone: String = "already gone"
}

extension AWSLibrary {
    /// Makes one IAM write of a primitive that read before it wrote, and settles it at once when its
    /// outcome is in doubt:
    ///
    /// - its answer was lost (the connection broke once the request was sent: `outcomeUnknown`), or
    /// - the service answered as to a request already carried out (`EntityAlreadyExists` to a
    ///   create, `NoSuchEntity` to a delete or detach: a retry of a request that was made, or another
    ///   client's write in between).
    ///
    /// It reads back (`readBack`: the value when the resource is as the write meant it, else nil).
    /// As intended: the run carries on, saying so in one `note:` line on stderr (a delete or detach
    /// that had nothing to delete is recorded as unchanged). Not as intended after a lost answer: the
    /// write is sent once more. Otherwise the error stands.
    static func settle(_ inv: Invocation, _ intent: IAMWriteIntent, readBack: () throws -> Value?, write: () throws -> Value) throws -> Value {
        var retried = false
        while true {
            do {
                return try write()
            } catch {
                let lost = (error as? OutcomeUnknownError)?.outcomeUnknown == true
                let aws = error as? AWSError
                let answeredDone = intent.creates ? aws?.isAlreadyExists == true : aws?.isNotFound == true
                guard lost || answeredDone else { throw error }
                // A read-back that fails leaves the write's own error standing (an unknown outcome stays one).
                let original = error
                let found: Value?
                do { found = try readBack() } catch { throw original }
                if let found {
                    if lost {
                        settleNote(inv, "note: the answer to \(intent.operation) was lost; \(intent.done)")
                        return found
                    }
                    if intent.creates {
                        settleNote(inv, "note: \(intent.operation) said \(aws?.code ?? "it exists"); \(intent.done)")
                        return found
                    }
                    throw Effects.AlreadyAsWanted(result: found, detail: intent.alreadyDone)
                }
                guard lost, !retried else { throw error }
                settleNote(inv, "note: the answer to \(intent.operation) was lost and \(intent.notDone); sending it again")
                retried = true
            }
        }
    }

    /// A line on stderr, flushed at once.
    static func settleNote(_ inv: Invocation, _ line: String) {
        inv.context.errors.write(line + "\n")
        inv.context.errors.flush()
    }
}
