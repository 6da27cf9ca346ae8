import Foundation
import OrderedCollections
import SGKAWS
import SGKData
import SGKLanguage

/// `aws`, `eks`, `oidc`, `role` and `policy` primitives.
public enum AWSLibrary: CommandLibrary {
    typealias Sig = CommandSignature
    static let region = Sig.Keyword("region", flags: ["--region"], "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile)")

    public static var commands: [NativeCommand] {
        [whoami, regionCommand, profile, partition, clusters, describeCluster, token, kubeconfig,
         oidcAssociate, oidcProvider, oidcProviders, oidcDelete,
         roleCreate, roleGet, roleList, roleDelete, roleAttach, roleDetach, rolePolicies, roleUpdateTrust,
         policyCreate, policyGet, policyDelete] + podIdentityCommands
    }

    static func regionArg(_ inv: Invocation) throws -> String? { try inv.args.string(keyword: "region") }

    // MARK: aws

    static let whoami = NativeCommand(Sig("aws whoami", keywords: [region], summary: "Who the credentials belong to (STS GetCallerIdentity).",
                                          example: "aws whoami   # {Account: \"123456789012\", Arn: \"arn:aws:iam::123456789012:user/ops\", UserId: \"…\"}")) { inv in
        let i = try AWSClients.of(inv.context).identity(region: try regionArg(inv))
        return .ordered([("Account", .string(i.account)), ("Arn", .string(i.arn)), ("UserId", .string(i.userID))])
    }

    static let regionCommand = NativeCommand(Sig("aws region", summary: "The AWS region in effect (null when none is set).", example: "aws region")) { inv in
        let c = AWSClients.of(inv.context).configuration(region: nil)
        return c.region.map(Value.string) ?? .null
    }

    static let profile = NativeCommand(Sig("aws profile", summary: "The AWS profile in effect.", example: "aws profile")) { inv in
        .string(AWSClients.of(inv.context).configuration(region: nil).profile)
    }

    static let partition = NativeCommand(Sig("aws partition", keywords: [region], summary: "The partition of the region: aws, aws-cn or aws-us-gov.", example: "aws partition region: cn-north-1   # \"aws-cn\"")) { inv in
        .string(AWSClients.of(inv.context).configuration(region: try regionArg(inv)).partition.rawValue)
    }

    // MARK: eks

    static let clusters = NativeCommand(Sig("eks clusters", keywords: [region], summary: "Names of the EKS clusters in the region.", example: "eks clusters region: us-west-2")) { inv in
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        return .list(try inv.context.wait { try await c.eks.listClusters() }.map(Value.string))
    }

    /// The cluster as DescribeCluster gives it, asked once per run and region: an install's
    /// binding, its OIDC provider and its verify share one answer. `fresh` asks again (the
    /// `eks describe-cluster` command always does: a script may wait for a status to change).
    static func describe(_ inv: Invocation, _ name: String, _ region: String?, fresh: Bool = false) throws -> EKSCluster {
        let clients = AWSClients.of(inv.context)
        let key = (clients.configuration(region: region).region ?? "") + "/" + name
        if !fresh, let known = clients.describedCluster(key) { return known }
        let c = clients.client(region: region)
        let cluster: EKSCluster
        do {
            cluster = try inv.context.wait { try await c.eks.describeCluster(name: name) }
        } catch var e as AWSError where e.code == "ResourceNotFoundException" {
            // Say where it looked, and what is there: a wrong region is the usual cause.
            let here = clients.configuration(region: region).region ?? "the default region"
            let names = (try? inv.context.wait { try await c.eks.listClusters() }) ?? nil
            let there = names.map { $0.isEmpty ? "there are no clusters there" : "the clusters there: \($0.sorted().joined(separator: ", "))" }
            e.hint = "no cluster \(name) in \(here)" + (there.map { "; \($0)" } ?? "")
                + ": check the name, or give the cluster's region (region: R, --region R)"
            throw e
        }
        clients.remember(cluster, key)
        return cluster
    }

    static let describeCluster = NativeCommand(Sig("eks describe-cluster", positionals: [.init("name", "the cluster's name")], keywords: [region],
                                                   summary: "The EKS cluster as DescribeCluster returns it (endpoint, identity.oidc.issuer, …).",
                                                   example: "let c = eks describe-cluster demo region: us-west-2\n$c.identity.oidc.issuer")) { inv in
        Value(json: try describe(inv, try inv.args.string(0, "the cluster name"), try regionArg(inv), fresh: true).json)
    }

    static let token = NativeCommand(Sig("eks token", positionals: [.init("cluster", "the cluster's name")], keywords: [region],
                                         summary: "An ExecCredential with a token for the cluster (sgk can be a kubeconfig exec plugin: `sgk eks token NAME`).",
                                         example: "eks token demo region: us-west-2")) { inv in
        let name = try inv.args.string(0, "the cluster name")
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let t = try inv.context.wait { try await c.eks.token(clusterName: name) }
        return .ordered([
            ("kind", .string("ExecCredential")), ("apiVersion", .string("client.authentication.k8s.io/v1beta1")), ("spec", Value.map(OrderedDictionary<String, Value>())),
            ("status", .ordered([("expirationTimestamp", Value.string(SigV4Time.iso8601(t.expiration))), ("token", Value.string(t.token))])),
        ])
    }

    static let kubeconfig = NativeCommand(Sig("eks kubeconfig", positionals: [.init("cluster", "the cluster's name")],
                                              keywords: [region, .init("write", isSwitch: true, flags: ["--write"], "merge it into $KUBECONFIG (or ~/.kube/config) and make it current"),
                                                         .init("alias", flags: ["--alias"], "the context name (default: the cluster ARN)")],
                                              summary: "The kubeconfig entry for an EKS cluster (user via `sgk eks token`), returned or written like `aws eks update-kubeconfig`.",
                                              example: "eks kubeconfig demo region: us-west-2 write: true", isWrite: true)) { inv in
        let name = try inv.args.string(0, "the cluster name")
        let regionArg = try regionArg(inv)
        let region = try AWSClients.of(inv.context).requireRegion(regionArg, for: "eks kubeconfig")
        let cluster = try describe(inv, name, region)
        guard let endpoint = cluster.endpoint, let arn = cluster.arn else {
            throw CommandError("cluster \(name) has no endpoint yet (status \(cluster.status ?? "unknown"))", hint: "wait until the cluster is ACTIVE")
        }
        let ctxName = try inv.args.string(keyword: "alias") ?? arn
        let entry: Value = .ordered([
            ("apiVersion", .string("v1")), ("kind", .string("Config")),
            ("clusters", .list([.ordered([("name", .string(arn)), ("cluster", .ordered([("server", .string(endpoint)), ("certificate-authority-data", cluster.certificateAuthorityData.map(Value.string))]))])])),
            ("contexts", .list([.ordered([("name", .string(ctxName)), ("context", .ordered([("cluster", .string(arn)), ("user", .string(arn))]))])])),
            ("users", .list([.ordered([("name", .string(arn)), ("user", .ordered([("exec", .ordered([
                ("apiVersion", .string("client.authentication.k8s.io/v1beta1")), ("command", .string("sgk")),
                ("args", .list(["eks", "token", name, "region:", region].map(Value.string))),
            ]))]))])])),
            ("current-context", .string(ctxName)),
        ])
        guard try inv.args.bool(keyword: "write") else { return entry }
        let env = inv.context.environment
        let path = env["KUBECONFIG"].flatMap { $0.split(separator: ":").first.map(String.init) } ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.kube/config")
        let existingText = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
        var merged = OrderedDictionary<String, Value>()
        var existing: Value?
        if let existingText, !existingText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let parsed: JSON
            do { parsed = try YAMLCodec.parse(existingText) } catch {
                throw CommandError("\(path): \(error)", hint: "fix the file, or point KUBECONFIG at another one")
            }
            guard case .map(let m) = Value(json: parsed) else {
                throw CommandError("\(path) is not a kubeconfig (a YAML map)", hint: "fix the file, or point KUBECONFIG at another one")
            }
            merged = m
            existing = .map(m)
        }
        merged["apiVersion"] = merged["apiVersion"] ?? .string("v1")
        merged["kind"] = merged["kind"] ?? .string("Config")
        for section in ["clusters", "contexts", "users"] {
            var items = merged[section]?.listValue ?? []
            for new in entry[section]?.listValue ?? [] {
                let n = new["name"]
                if let i = items.firstIndex(where: { $0["name"] == n }) { items[i] = new } else { items.append(new) }
            }
            merged[section] = .list(items)
        }
        merged["current-context"] = .string(ctxName)
        let after = Value.map(merged)
        let explain = ["aws eks update-kubeconfig --name \(shellQuote(name)) --region \(shellQuote(region))" + (inv.args.has("alias") ? " --alias \(shellQuote(ctxName))" : "")]
        if existing == after {
            Effects.of(inv.context).unchanged(kind: "kubeconfig", name: path, explain: explain)
            return entry
        }
        let change = Change(existingText == nil ? .create : .update, kind: "kubeconfig", name: path, detail: "context \(ctxName)",
                            after: entry, explain: explain)
        return try Effects.of(inv.context).write(change, planned: entry) {
            do {
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(YAMLCodec.emit(after.json).utf8).write(to: URL(fileURLWithPath: path))
            } catch {
                throw CommandError("cannot write \(path): \((error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription)",
                                   hint: "is its folder writable? KUBECONFIG names another file")
            }
            chmod(path, 0o600)
            return entry
        }
    }

    // MARK: oidc

    struct ProviderTarget {
        var arn: String
        var issuer: String
        var cluster: String
    }

    static func providerTarget(_ inv: Invocation, cluster: String, region: String?) throws -> ProviderTarget {
        let r = try AWSClients.of(inv.context).requireRegion(region, for: "oidc")
        let c = try describe(inv, cluster, r)
        guard let issuer = c.oidcIssuer else {
            throw CommandError("cluster \(cluster) has no OIDC issuer", hint: "the cluster may still be creating; check `eks describe-cluster \(cluster)`")
        }
        let account: String
        if let a = c.arn.flatMap(ARN.account(of:)) { account = a } else { account = try AWSClients.of(inv.context).identity(region: r).account }
        let partition = c.arn.flatMap(ARN.partition(of:)) ?? AWSPartition.of(region: r)
        return ProviderTarget(arn: ARN.oidcProvider(issuer: issuer, account: account, partition: partition), issuer: issuer, cluster: cluster)
    }

    static let oidcAssociate = NativeCommand(Sig("oidc associate", keywords: [.init("cluster", required: true, flags: ["--cluster"], "the EKS cluster"), region,
                                                                             .init("thumbprint", flags: ["--thumbprint"], "true to compute the issuer's thumbprint (as eksctl does), or a SHA-1 hex")],
                                             summary: "Associate the cluster's IAM OIDC provider (idempotent: an existing provider is returned unchanged).",
                                             example: "let provider = oidc associate cluster: demo region: us-west-2", isWrite: true)) { inv in
        let cluster = try inv.args.requiredString(keyword: "cluster")
        let region = try regionArg(inv)
        // IAM takes 40 hex digits (a SHA-1): checked first, so that no run plans a write that fails.
        if case .string(let s)? = inv.args.keyword("thumbprint"), !(s.count == 40 && s.allSatisfy(\.isHexDigit)) {
            throw CommandError("thumbprint: '\(s)' is not a SHA-1 (40 hex digits)", hint: "pass thumbprint: true to compute the issuer's, as eksctl does",
                               argument: .keyword("thumbprint"))
        }
        let t = try providerTarget(inv, cluster: cluster, region: region)
        let r = try AWSClients.of(inv.context).requireRegion(region, for: "oidc associate")
        let c = AWSClients.of(inv.context).client(region: region)
        let explain = ["eksctl utils associate-iam-oidc-provider --cluster \(shellQuote(cluster)) --region \(shellQuote(r)) --approve"]
        if let existing = try inv.context.wait({ try await c.iam.findOpenIDConnectProvider(arn: t.arn) }) {
            Effects.of(inv.context).unchanged(kind: "oidc-provider", name: t.arn, explain: explain)
            return AWSValues.provider(existing, cluster: cluster)
        }
        var thumbprints: [String] = []
        if let tp = inv.args.keyword("thumbprint") {
            switch tp {
            case .bool(true), .string("true"):
                let issuer = t.issuer
                thumbprints = [try inv.context.wait { try await OIDCThumbprint.fetch(issuer: issuer) }]
            case .bool(false), .string("false"): break
            case .string(let s): thumbprints = [s.lowercased()]
            default: throw CommandError("thumbprint: must be true or a SHA-1 hex string", argument: .keyword("thumbprint"))
            }
        }
        let url = t.issuer
        let bareURL = String(url.dropFirst(url.hasPrefix("https://") ? 8 : 0))
        let planned: Value = .ordered([("Arn", .string(t.arn)), ("Url", .string(bareURL)), ("Issuer", .string(url)),
                                       ("ClientIDList", .list([.string("sts.amazonaws.com")])), ("ThumbprintList", .list(thumbprints.map(Value.string))),
                                       ("Cluster", .string(cluster))])
        let change = Change(.create, kind: "oidc-provider", name: t.arn, detail: "cluster \(cluster)", after: planned, explain: explain)
        let tps = thumbprints
        let intent = IAMWriteIntent(operation: "CreateOpenIDConnectProvider", creates: true,
                                    done: "the OIDC provider is there as intended", notDone: "the OIDC provider is not there")
        return try Effects.of(inv.context).write(change, planned: planned) {
            try settle(inv, intent, readBack: {
                // There as intended: the same issuer URL and client IDs.
                guard let p = try inv.context.wait({ try await c.iam.findOpenIDConnectProvider(arn: t.arn) }),
                      p.url.replacingOccurrences(of: "https://", with: "") == bareURL, p.clientIDs == ["sts.amazonaws.com"] else { return nil }
                return AWSValues.provider(p, cluster: cluster)
            }) {
                let arn = try inv.context.wait { try await c.iam.createOpenIDConnectProvider(url: url, clientIDs: ["sts.amazonaws.com"], thumbprints: tps) }
                let p = try inv.context.wait { try await c.iam.getOpenIDConnectProvider(arn: arn) }
                return AWSValues.provider(p, cluster: cluster)
            }
        }
    }

    static let oidcProvider = NativeCommand(Sig("oidc provider", keywords: [.init("cluster", required: true, flags: ["--cluster"], "the EKS cluster"), region],
                                            summary: "The cluster's IAM OIDC provider, or null when it is not associated.",
                                            example: "oidc provider cluster: demo")) { inv in
        let cluster = try inv.args.requiredString(keyword: "cluster")
        let region = try regionArg(inv)
        let t = try providerTarget(inv, cluster: cluster, region: region)
        let c = AWSClients.of(inv.context).client(region: region)
        guard let p = try inv.context.wait({ try await c.iam.findOpenIDConnectProvider(arn: t.arn) }) else { return .null }
        return AWSValues.provider(p, cluster: cluster)
    }

    static let oidcProviders = NativeCommand(Sig("oidc providers", keywords: [region], summary: "ARNs of the account's IAM OIDC providers.", example: "oidc providers")) { inv in
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        return .list(try inv.context.wait { try await c.iam.listOpenIDConnectProviders() }.map(Value.string))
    }

    static let oidcDelete = NativeCommand(Sig("oidc delete", positionals: [.init("arn", "the provider's ARN")],
                                              keywords: [region, .init("missing-ok", isSwitch: true, flags: ["--missing-ok"], "succeed when it does not exist")],
                                              summary: "Delete an IAM OIDC provider.", example: "oidc delete $provider.Arn", isWrite: true)) { inv in
        let arn = try inv.args.string(0, "the provider ARN")
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let explain = ["aws iam delete-open-id-connect-provider\(iamRegion(c)) --open-id-connect-provider-arn \(shellQuote(arn))"]
        guard let existing = try inv.context.wait({ try await c.iam.findOpenIDConnectProvider(arn: arn) }) else {
            if try inv.args.bool(keyword: "missing-ok") { Effects.of(inv.context).unchanged(kind: "oidc-provider", name: arn, detail: "absent", explain: explain); return .null }
            throw CommandError("no OIDC provider \(arn)", code: "NoSuchEntity", hint: "`oidc providers` lists them; pass missing-ok: true to ignore", argument: .positional(0))
        }
        let change = Change(.delete, kind: "oidc-provider", name: arn, before: AWSValues.provider(existing), explain: explain)
        let intent = IAMWriteIntent(operation: "DeleteOpenIDConnectProvider", creates: false,
                                    done: "the OIDC provider is gone", notDone: "the OIDC provider is still there")
        return try Effects.of(inv.context).write(change, planned: .null) {
            try settle(inv, intent, readBack: { try inv.context.wait({ try await c.iam.findOpenIDConnectProvider(arn: arn) }) == nil ? .null : nil }) {
                try inv.context.wait { try await c.iam.deleteOpenIDConnectProvider(arn: arn) }
                return .null
            }
        }
    }

    // MARK: role

    static func findRole(_ inv: Invocation, _ c: AWSClient, _ name: String) throws -> IAMRole? {
        try inv.context.wait { try await c.iam.findRole(name: name) }
    }

    /// A role or policy name argument, checked against IAM's rules before any request.
    static func iamName(_ inv: Invocation, role: Bool) throws -> String {
        let name = try inv.args.string(0, role ? "the role name" : "the policy name")
        if let problem = role ? IAMValidation.roleNameProblem(name) : IAMValidation.policyNameProblem(name) {
            throw CommandError(problem, code: "ValidationError", argument: .positional(0))
        }
        return name
    }

    /// ` --region R` for the aws lines of IAM outside the aws partition (the region of the client in use): the CLI picks the
    /// partition's IAM endpoint from the region (without it, arn:aws-cn:… resources are not found).
    static func iamRegion(_ c: AWSClient) -> String {
        guard let r = c.configuration.region, AWSPartition.of(region: r) != .aws else { return "" }
        return " --region \(shellQuote(r))"
    }

    static func tagsArg(_ inv: Invocation) throws -> [IAMTag] {
        guard let t = inv.args.keyword("tags") else { return [] }
        guard case .map(let m) = t else { throw CommandError("tags: must be a map such as {team: \"ml\"}", argument: .keyword("tags")) }
        return try m.map { k, v in
            switch v {
            case .string, .int, .double, .bool: return IAMTag(k, v.text)
            default: throw CommandError("tag '\(k)' is \(v.aTypeName): tag values are strings", argument: .keyword("tags"))
            }
        }
    }

    /// `--tags` for an aws line, in the CLI's JSON form (its shorthand breaks on `,` `[` `{` in values).
    static func explainTags(_ tags: [IAMTag]) -> String {
        shellQuote(JSONCodec.serialize(.array(tags.map { .object(["Key": .string($0.key), "Value": .string($0.value)]) }), pretty: false))
    }

    /// What `role create` asks of an existing role's description and tags that it does not hold yet
    /// (tags it does not name are left as they are).
    static func roleMetadataDelta(_ r: IAMRole, description: String?, tags: [IAMTag]) -> (description: String?, tags: [IAMTag]) {
        let have = Dictionary(r.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
        return (description.flatMap { $0 == (r.description ?? "") ? nil : $0 }, tags.filter { have[$0.key] != $0.value })
    }

    static let roleCreate = NativeCommand(Sig("role create", positionals: [.init("name", "the role's name")],
                                              keywords: [region, .init("trust", required: true, "the trust policy (a map, e.g. from `irsa trust`, or JSON text)"),
                                                         .init("description", flags: ["--description"], "the role's description"),
                                                         .init("tags", "a map of tags"),
                                                         .init("update", isSwitch: true, flags: ["--update"], "replace a different trust policy instead of failing")],
                                              summary: "Create an IAM role (idempotent: same trust → unchanged; a different trust is an error unless update: true).",
                                              example: "let role = role create ops-test trust: (irsa trust provider: $p namespace: ml service-account: runner)",
                                              isWrite: true)) { inv in
        let name = try iamName(inv, role: true)
        guard let trustArg = inv.args.keyword("trust") else { throw CommandError("missing 'trust:'", argument: .keyword("trust")) }
        let (trustText, trust) = try AWSValues.policyDocument(trustArg, "trust:", .keyword("trust"), trust: true)
        let description = try inv.args.string(keyword: "description")
        let tags = try tagsArg(inv)
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let effects = Effects.of(inv.context)
        if let existing = try findRole(inv, c, name) {
            let current = AWSValues.document(existing.assumeRolePolicyDocument) ?? .null
            let delta = roleMetadataDelta(existing, description: description, tags: tags)
            let sameTrust = AWSValues.samePolicy(current, trust)
            if sameTrust && delta.description == nil && delta.tags.isEmpty {
                effects.unchanged(kind: "role", name: name, explain: ["aws iam create-role\(iamRegion(c)) --role-name \(shellQuote(name)) --assume-role-policy-document \(shellQuote(trustText))"])
                return AWSValues.role(existing)
            }
            if !sameTrust, try !inv.args.bool(keyword: "update") {
                throw CommandError("role \(name) exists with a different trust policy:\n\(AWSValues.diff(current, trust))", code: "TrustPolicyMismatch",
                                   hint: "pass update: true to replace it, or use another role name", argument: .keyword("trust"))
            }
            // One update: the trust (with update: true), the description and the tags it differs in.
            var explain: [String] = []
            var what: [String] = []
            if !sameTrust {
                explain.append("aws iam update-assume-role-policy\(iamRegion(c)) --role-name \(shellQuote(name)) --policy-document \(shellQuote(trustText))")
                what.append("trust policy")
            }
            if let d = delta.description {
                explain.append("aws iam update-role\(iamRegion(c)) --role-name \(shellQuote(name)) --description \(shellQuote(d))")
                what.append("description")
            }
            if !delta.tags.isEmpty {
                explain.append("aws iam tag-role\(iamRegion(c)) --role-name \(shellQuote(name)) --tags \(explainTags(delta.tags))")
                what.append("tags")
            }
            let change = Change(.update, kind: "role", name: name, detail: what.joined(separator: ", "),
                                before: sameTrust ? nil : current, after: sameTrust ? nil : trust, explain: explain)
            var planned = AWSValues.role(existing)
            if case .map(var m) = planned {
                if !sameTrust { m["AssumeRolePolicyDocument"] = trust }
                if let d = delta.description { m["Description"] = .string(d) }
                m["Tags"] = AWSValues.tags(existing.tags.filter { t in !delta.tags.contains { $0.key == t.key } } + delta.tags)
                planned = .map(m)
            }
            return try effects.write(change, planned: planned) {
                if !sameTrust { try inv.context.wait { try await c.iam.updateAssumeRolePolicy(roleName: name, policyDocument: trustText) } }
                if let d = delta.description { try inv.context.wait { try await c.iam.updateRoleDescription(roleName: name, description: d) } }
                if !delta.tags.isEmpty { try inv.context.wait { try await c.iam.tagRole(roleName: name, tags: delta.tags) } }
                return AWSValues.role(try inv.context.wait { try await c.iam.getRole(name: name) })
            }
        }
        var explain = "aws iam create-role\(iamRegion(c)) --role-name \(shellQuote(name)) --assume-role-policy-document \(shellQuote(trustText))"
        if let description { explain += " --description \(shellQuote(description))" }
        if !tags.isEmpty { explain += " --tags " + explainTags(tags) }
        let change = Change(.create, kind: "role", name: name, after: trust, explain: [explain])
        let plannedValue = effects.isDryRun ? try plannedRole(inv, name, trust, description) : .null
        let intent = IAMWriteIntent(operation: "CreateRole", creates: true, done: "the role is there as intended", notDone: "the role is not there")
        return try effects.write(change, planned: plannedValue) {
            try settle(inv, intent, readBack: {
                // There as intended: the same trust policy.
                guard let r = try findRole(inv, c, name),
                      AWSValues.samePolicy(AWSValues.document(r.assumeRolePolicyDocument) ?? .null, trust) else { return nil }
                return AWSValues.role(r)
            }) {
                let r = try inv.context.wait { try await c.iam.createRole(name: name, assumeRolePolicyDocument: trustText, description: description, tags: tags) }
                return AWSValues.role(r)
            }
        }
    }

    static func plannedRole(_ inv: Invocation, _ name: String, _ trust: Value, _ description: String?) throws -> Value {
        let clients = AWSClients.of(inv.context)
        let r = try regionArg(inv)
        let id = try clients.identity(region: r)
        let partition = id.partition ?? clients.configuration(region: r).partition
        return AWSValues.plannedRole(name: name, arn: ARN.iamRole(name, account: id.account, partition: partition), trust: trust, description: description)
    }

    static let roleList = NativeCommand(Sig("role list", keywords: [region, .init("path-prefix", flags: ["--path-prefix"], "only roles under this path, e.g. /service-role/"),
                                                                   .init("trusting", flags: ["--trusting"], "only roles whose trust policy names this (an OIDC provider ARN, a principal)")],
                                            summary: "The account's IAM roles, each as `role get` shows it (with its trust policy as a map).",
                                            example: "role list trusting: $provider.Arn | each { $it.RoleName }")) { inv in
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let prefix = try inv.args.string(keyword: "path-prefix")
        let trusting = try inv.args.string(keyword: "trusting")
        let roles = try inv.context.wait { try await c.iam.listRoles(pathPrefix: prefix) }
        return .list(roles.filter { r in trusting.map { (r.assumeRolePolicyDocument ?? "").contains($0) } ?? true }.map(AWSValues.role))
    }

    static let roleGet = NativeCommand(Sig("role get", positionals: [.init("name", "the role's name")],
                                           keywords: [region, .init("missing-ok", isSwitch: true, flags: ["--missing-ok"], "return null when it does not exist")],
                                           summary: "An IAM role with its trust policy (as a map).", example: "role get sagemaker-k8s-operator-demo")) { inv in
        let name = try inv.args.string(0, "the role name")
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        if try inv.args.bool(keyword: "missing-ok") { return try findRole(inv, c, name).map(AWSValues.role) ?? .null }
        return AWSValues.role(try inv.context.wait { try await c.iam.getRole(name: name) })
    }

    static let roleDelete = NativeCommand(Sig("role delete", positionals: [.init("name", "the role's name")],
                                              keywords: [region, .init("missing-ok", isSwitch: true, flags: ["--missing-ok"], "succeed when it does not exist")],
                                              summary: "Delete an IAM role, detaching its managed policies and deleting its inline policies first.",
                                              example: "role delete sagemaker-k8s-operator-demo", isWrite: true)) { inv in
        let name = try inv.args.string(0, "the role name")
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let effects = Effects.of(inv.context)
        guard let existing = try findRole(inv, c, name) else {
            if try inv.args.bool(keyword: "missing-ok") { effects.unchanged(kind: "role", name: name, detail: "absent"); return .null }
            throw CommandError("the role \(name) does not exist", code: "NoSuchEntity", hint: "pass missing-ok: true to ignore", argument: .positional(0))
        }
        let attached = try inv.context.wait { try await c.iam.listAttachedRolePolicies(roleName: name) }
        for p in attached {
            let arn = p.arn
            _ = try effects.write(Change(.delete, kind: "role-policy-attachment", name: name, detail: arn,
                                         explain: ["aws iam detach-role-policy\(iamRegion(c)) --role-name \(shellQuote(name)) --policy-arn \(shellQuote(arn))"]), planned: .null) {
                try detach(inv, c, role: name, policy: arn)
            }
        }
        let inline = try inv.context.wait { try await c.iam.listRolePolicies(roleName: name) }
        for p in inline {
            _ = try effects.write(Change(.delete, kind: "role-inline-policy", name: name, detail: p,
                                         explain: ["aws iam delete-role-policy\(iamRegion(c)) --role-name \(shellQuote(name)) --policy-name \(shellQuote(p))"]), planned: .null) {
                let intent = IAMWriteIntent(operation: "DeleteRolePolicy", creates: false,
                                            done: "the inline policy \(p) is gone", notDone: "the inline policy \(p) is still there")
                return try settle(inv, intent, readBack: {
                    try inv.context.wait({ try await c.iam.listRolePolicies(roleName: name) }).contains(p) ? nil : .null
                }) {
                    try inv.context.wait { try await c.iam.deleteRolePolicy(roleName: name, policyName: p) }
                    return .null
                }
            }
        }
        return try effects.write(Change(.delete, kind: "role", name: name, before: AWSValues.role(existing),
                                        explain: ["aws iam delete-role\(iamRegion(c)) --role-name \(shellQuote(name))"]), planned: .null) {
            let intent = IAMWriteIntent(operation: "DeleteRole", creates: false, done: "the role is gone", notDone: "the role is still there")
            return try settle(inv, intent, readBack: { try findRole(inv, c, name) == nil ? .null : nil }) {
                try inv.context.wait { try await c.iam.deleteRole(name: name) }
                return .null
            }
        }
    }

    static let policyKeyword = Sig.Keyword("policy", required: true, flags: ["--policy-arn"], "the managed policy's ARN")

    static func attachedPolicies(_ inv: Invocation, _ c: AWSClient, _ role: String) throws -> [AttachedPolicy] {
        do {
            return try inv.context.wait { try await c.iam.listAttachedRolePolicies(roleName: role) }
        } catch let e as AWSError where e.code == "NoSuchEntity" && Effects.of(inv.context).isDryRun {
            return []   // the role is only planned
        }
    }

    static let roleAttach = NativeCommand(Sig("role attach-policy", positionals: [.init("name", "the role's name")], keywords: [region, policyKeyword],
                                              summary: "Attach a managed policy to a role (idempotent).",
                                              example: "role attach-policy $role_name policy: arn:aws:iam::aws:policy/AmazonSageMakerFullAccess", isWrite: true)) { inv in
        let name = try inv.args.string(0, "the role name")
        let arn = try inv.args.requiredString(keyword: "policy")
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let explain = ["aws iam attach-role-policy\(iamRegion(c)) --role-name \(shellQuote(name)) --policy-arn \(shellQuote(arn))"]
        let attached = try attachedPolicies(inv, c, name)
        let result: Value = .ordered([("RoleName", .string(name)), ("PolicyArn", .string(arn))])
        if attached.contains(where: { $0.arn == arn }) {
            Effects.of(inv.context).unchanged(kind: "role-policy-attachment", name: name, detail: arn, explain: explain)
            return result
        }
        return try Effects.of(inv.context).write(Change(.create, kind: "role-policy-attachment", name: name, detail: arn, explain: explain), planned: result) {
            try inv.context.wait { try await c.iam.attachRolePolicy(roleName: name, policyARN: arn) }
            return result
        }
    }

    /// DetachRolePolicy, settled: `NoSuchEntity` means the policy is no longer attached (unchanged).
    static func detach(_ inv: Invocation, _ c: AWSClient, role: String, policy arn: String) throws -> Value {
        let intent = IAMWriteIntent(operation: "DetachRolePolicy", creates: false, done: "the policy is detached",
                                    notDone: "the policy is still attached", alreadyDone: "\(arn) already detached")
        return try settle(inv, intent, readBack: {
            do {
                return try inv.context.wait({ try await c.iam.listAttachedRolePolicies(roleName: role) }).contains { $0.arn == arn } ? nil : .null
            } catch let e as AWSError where e.isNotFound {
                return .null   // no role: nothing is attached to it
            }
        }) {
            try inv.context.wait { try await c.iam.detachRolePolicy(roleName: role, policyARN: arn) }
            return .null
        }
    }

    static let roleDetach = NativeCommand(Sig("role detach-policy", positionals: [.init("name", "the role's name")], keywords: [region, policyKeyword],
                                              summary: "Detach a managed policy from a role (idempotent).",
                                              example: "role detach-policy $role_name policy: $policy", isWrite: true)) { inv in
        let name = try inv.args.string(0, "the role name")
        let arn = try inv.args.requiredString(keyword: "policy")
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let explain = ["aws iam detach-role-policy\(iamRegion(c)) --role-name \(shellQuote(name)) --policy-arn \(shellQuote(arn))"]
        let attached = try attachedPolicies(inv, c, name)
        guard attached.contains(where: { $0.arn == arn }) else {
            Effects.of(inv.context).unchanged(kind: "role-policy-attachment", name: name, detail: "\(arn) not attached", explain: explain)
            return .null
        }
        return try Effects.of(inv.context).write(Change(.delete, kind: "role-policy-attachment", name: name, detail: arn, explain: explain), planned: .null) {
            try detach(inv, c, role: name, policy: arn)
        }
    }

    static let rolePolicies = NativeCommand(Sig("role policies", positionals: [.init("name", "the role's name")], keywords: [region],
                                                summary: "The role's policies: {managed: [{PolicyName, PolicyArn}], inline: [names]}.",
                                                example: "role policies $role_name | get managed")) { inv in
        let name = try inv.args.string(0, "the role name")
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        // The two lists at once: they do not depend on each other.
        let (managed, inline) = try inv.context.wait {
            async let managed = c.iam.listAttachedRolePolicies(roleName: name)
            async let inline = c.iam.listRolePolicies(roleName: name)
            return try await (managed, inline)
        }
        return .ordered([("managed", .list(managed.map { .ordered([("PolicyName", .string($0.name)), ("PolicyArn", .string($0.arn))]) })),
                         ("inline", .list(inline.map(Value.string)))])
    }

    static let roleUpdateTrust = NativeCommand(Sig("role update-trust", positionals: [.init("name", "the role's name")],
                                                   keywords: [region, .init("trust", required: true, "the new trust policy")],
                                                   summary: "Replace a role's trust policy (unchanged when equal).",
                                                   example: "role update-trust $role_name trust: $trust", isWrite: true)) { inv in
        let name = try inv.args.string(0, "the role name")
        guard let trustArg = inv.args.keyword("trust") else { throw CommandError("missing 'trust:'", argument: .keyword("trust")) }
        let (trustText, trust) = try AWSValues.policyDocument(trustArg, "trust:", .keyword("trust"), trust: true)
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let effects = Effects.of(inv.context)
        let explain = ["aws iam update-assume-role-policy\(iamRegion(c)) --role-name \(shellQuote(name)) --policy-document \(shellQuote(trustText))"]
        let role: IAMRole
        do {
            role = try inv.context.wait { try await c.iam.getRole(name: name) }
        } catch let e as AWSError where e.isNotFound && effects.isDryRun && effects.plansToCreate(kind: "role", name: name) {
            // A role this dry run creates: its update is planned as well.
            let planned = try plannedRole(inv, name, trust, nil)
            return try effects.write(Change(.update, kind: "role", name: name, detail: "trust policy", after: trust, explain: explain),
                                     planned: planned) { .null }
        }
        let current = AWSValues.document(role.assumeRolePolicyDocument) ?? .null
        if AWSValues.samePolicy(current, trust) {
            effects.unchanged(kind: "role", name: name, detail: "trust policy", explain: explain)
            return AWSValues.role(role)
        }
        var planned = AWSValues.role(role)
        if case .map(var m) = planned { m["AssumeRolePolicyDocument"] = trust; planned = .map(m) }
        return try effects.write(Change(.update, kind: "role", name: name, detail: "trust policy", before: current, after: trust, explain: explain),
                                 planned: planned) {
            try inv.context.wait { try await c.iam.updateAssumeRolePolicy(roleName: name, policyDocument: trustText) }
            return AWSValues.role(try inv.context.wait { try await c.iam.getRole(name: name) })
        }
    }

    // MARK: policy

    static func policyARN(_ inv: Invocation, _ nameOrARN: String) throws -> String {
        if nameOrARN.hasPrefix("arn:") { return nameOrARN }
        let clients = AWSClients.of(inv.context)
        let r = try regionArg(inv)
        let id = try clients.identity(region: r)
        return ARN.iamPolicy(nameOrARN, account: id.account, partition: id.partition ?? clients.configuration(region: r).partition)
    }

    static func findPolicy(_ inv: Invocation, _ c: AWSClient, _ arn: String) throws -> (IAMPolicy, String?)? {
        do {
            let r = try inv.context.wait { try await c.iam.getPolicyWithDocument(arn: arn) }
            return (r.policy, r.document)
        } catch let e as AWSError where e.code == "NoSuchEntity" {
            return nil
        }
    }

    static let policyCreate = NativeCommand(Sig("policy create", positionals: [.init("name", "the policy's name")],
                                                keywords: [region, .init("document", required: true, "the policy document (a map or JSON text)"),
                                                           .init("description", flags: ["--description"], "the policy's description")],
                                                summary: "Create a customer managed policy (idempotent: the same document → unchanged).",
                                                example: "let p = policy create sagemaker-least-privilege document: $doc", isWrite: true)) { inv in
        let name = try iamName(inv, role: false)
        guard let docArg = inv.args.keyword("document") else { throw CommandError("missing 'document:'", argument: .keyword("document")) }
        let (docText, doc) = try AWSValues.policyDocument(docArg, "document:", .keyword("document"), trust: false)
        let description = try inv.args.string(keyword: "description")
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let arn = try policyARN(inv, name)
        let explain = ["aws iam create-policy\(iamRegion(c)) --policy-name \(shellQuote(name)) --policy-document \(shellQuote(docText))" + (description.map { " --description \(shellQuote($0))" } ?? "")]
        if let (existing, text) = try findPolicy(inv, c, arn) {
            let current = AWSValues.document(text) ?? .null
            if AWSValues.samePolicy(current, doc) {
                Effects.of(inv.context).unchanged(kind: "policy", name: arn, explain: explain)
                return AWSValues.policy(existing, document: text)
            }
            throw CommandError("policy \(name) exists with a different document:\n\(AWSValues.diff(current, doc))", code: "PolicyDocumentMismatch",
                               hint: "use another name, or delete it first with `policy delete \(arn)`", argument: .keyword("document"))
        }
        let planned: Value = .ordered([("PolicyName", .string(name)), ("Arn", .string(arn)), ("PolicyId", .string("(planned)")), ("Document", doc)])
        let intent = IAMWriteIntent(operation: "CreatePolicy", creates: true, done: "the policy is there as intended", notDone: "the policy is not there")
        return try Effects.of(inv.context).write(Change(.create, kind: "policy", name: arn, after: doc, explain: explain), planned: planned) {
            try settle(inv, intent, readBack: {
                guard let (p, text) = try findPolicy(inv, c, arn), AWSValues.samePolicy(AWSValues.document(text) ?? .null, doc) else { return nil }
                return AWSValues.policy(p, document: text)
            }) {
                let p = try inv.context.wait { try await c.iam.createPolicy(name: name, document: docText, description: description) }
                return AWSValues.policy(p, document: docText)
            }
        }
    }

    static let policyGet = NativeCommand(Sig("policy get", positionals: [.init("policy", "the policy's ARN or name")], keywords: [region],
                                             summary: "A managed policy with its default version's document.", example: "policy get arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")) { inv in
        let arn = try policyARN(inv, try inv.args.string(0, "the policy"))
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        let r = try inv.context.wait { try await c.iam.getPolicyWithDocument(arn: arn) }
        return AWSValues.policy(r.policy, document: r.document)
    }

    static let policyDelete = NativeCommand(Sig("policy delete", positionals: [.init("policy", "the policy's ARN or name")],
                                                keywords: [region, .init("missing-ok", isSwitch: true, flags: ["--missing-ok"], "succeed when it does not exist")],
                                                summary: "Delete a customer managed policy (its non-default versions first).", example: "policy delete sagemaker-least-privilege", isWrite: true)) { inv in
        let arn = try policyARN(inv, try inv.args.string(0, "the policy"))
        let c = AWSClients.of(inv.context).client(region: try regionArg(inv))
        var explain = ["aws iam delete-policy\(iamRegion(c)) --policy-arn \(shellQuote(arn))"]
        guard let (existing, text) = try findPolicy(inv, c, arn) else {
            if try inv.args.bool(keyword: "missing-ok") { Effects.of(inv.context).unchanged(kind: "policy", name: arn, detail: "absent", explain: explain); return .null }
            throw CommandError("no policy \(arn)", code: "NoSuchEntity", hint: "pass missing-ok: true to ignore", argument: .positional(0))
        }
        // IAM deletes a policy only without its other versions: they go first, as the write does.
        let versions = try inv.context.wait { try await c.iam.listPolicyVersions(arn: arn) }.filter { !$0.isDefault }
        explain = versions.map { "aws iam delete-policy-version\(iamRegion(c)) --policy-arn \(shellQuote(arn)) --version-id \(shellQuote($0.versionID))" } + explain
        let detail = versions.isEmpty ? nil : "and its versions \(versions.map(\.versionID).joined(separator: ", "))"
        return try Effects.of(inv.context).write(Change(.delete, kind: "policy", name: arn, detail: detail, before: AWSValues.policy(existing, document: text),
                                                        explain: explain), planned: .null) {
            let intent = IAMWriteIntent(operation: "DeletePolicy", creates: false, done: "the policy is gone", notDone: "the policy is still there")
            return try settle(inv, intent, readBack: { try findPolicy(inv, c, arn) == nil ? .null : nil }) {
                try inv.context.wait { try await c.iam.deletePolicy(arn: arn) }
                return .null
            }
        }
    }
}
