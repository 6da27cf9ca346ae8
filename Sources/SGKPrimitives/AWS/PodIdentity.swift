import Foundation
import SGKAWS
import SGKData
import SGKLanguage

/// `eks pod-identity …` (EKS Pod Identity associations) and `eks addon get`: the other way, after
/// IRSA, for a service account's pods to get an IAM role. An association is known by its cluster,
/// namespace and service account (EKS allows one per pair); it is journaled as
/// `pod-identity-association CLUSTER/NAMESPACE/SERVICE_ACCOUNT`, with its ARN and id.
extension AWSLibrary {
    static let podIdentityCommands: [NativeCommand] = [podIdentityCreate, podIdentityGet, podIdentityList, podIdentityDelete, addonGet]

    static let podIdentityKind = "pod-identity-association"
    static let eksCluster = Sig.Keyword("cluster", required: true, flags: ["--cluster", "--cluster-name"], "the EKS cluster")
    static let podNamespace = Sig.Keyword("namespace", required: true, flags: ["--namespace"], "the service account's namespace")
    static let podServiceAccount = Sig.Keyword("service-account", required: true, flags: ["--service-account"], "the service account's name")
    static let missingOK = Sig.Keyword("missing-ok", isSwitch: true, flags: ["--missing-ok"], "return null when it does not exist")

    /// The cluster, its region and its client: the cluster is described first (once per run), so
    /// that a wrong name or region fails with the hint that names the clusters there.
    struct EKSTarget {
        var client: AWSClient
        var cluster: String
        var region: String
        var described: EKSCluster
        /// ` --region R` for the aws lines.
        var regionFlag: String { " --region \(shellQuote(region))" }
    }

    static func eksTarget(_ inv: Invocation, for command: String) throws -> EKSTarget {
        let cluster = try inv.args.requiredString(keyword: "cluster")
        let region = try AWSClients.of(inv.context).requireRegion(try regionArg(inv), for: command)
        let described = try describe(inv, cluster, region)
        return EKSTarget(client: AWSClients.of(inv.context).client(region: region), cluster: cluster, region: region, described: described)
    }

    /// A Kubernetes name argument: a namespace is a DNS-1123 label, a service account a DNS-1123
    /// subdomain. Checked before any request: an association for a name Kubernetes cannot hold
    /// would never match a pod.
    static func kubeName(_ inv: Invocation, _ keyword: String, label: Bool) throws -> String {
        let s = try inv.args.requiredString(keyword: keyword)
        let max = label ? 63 : 253
        let allowed = label ? "abcdefghijklmnopqrstuvwxyz0123456789-" : "abcdefghijklmnopqrstuvwxyz0123456789-."
        let ends = { (c: Character?) in c.map { $0.isASCII && ($0.isLowercase || $0.isNumber) } ?? false }
        guard !s.isEmpty, s.count <= max, s.allSatisfy({ allowed.contains($0) }), ends(s.first), ends(s.last) else {
            throw CommandError("\(keyword): '\(s)' is not a valid Kubernetes \(label ? "namespace" : "service account") name",
                               code: "ValidationError",
                               hint: "at most \(max) lowercase letters, digits\(label ? "" : ", '.'") and '-', starting and ending with a letter or digit",
                               argument: .keyword(keyword))
        }
        return s
    }

    /// The `role-arn:` argument: an IAM role ARN of the cluster's partition.
    static func podRoleARN(_ inv: Invocation, _ t: EKSTarget) throws -> String {
        let arn = try inv.args.requiredString(keyword: "role-arn")
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "iam", parts[3].isEmpty,
              parts[4].count == 12, parts[4].allSatisfy(\.isNumber), parts[5].hasPrefix("role/"), parts[5].count > 5 else {
            throw CommandError("role-arn: '\(arn)' is not an IAM role ARN", code: "ValidationError",
                               hint: "a role ARN is arn:PARTITION:iam::ACCOUNT:role/NAME (`role get NAME` gives it as .Arn)", argument: .keyword("role-arn"))
        }
        if let clusterPartition = t.described.arn.flatMap(ARN.partition(of:)), parts[1] != clusterPartition.rawValue {
            throw CommandError("role-arn: '\(arn)' is in the partition \(parts[1]), the cluster \(t.cluster) in \(clusterPartition.rawValue)",
                               code: "ValidationError", hint: "use a role of the cluster's partition", argument: .keyword("role-arn"))
        }
        return arn
    }

    /// The association of NAMESPACE/SERVICE_ACCOUNT in the cluster, described (with its role), or nil.
    static func findAssociation(_ inv: Invocation, _ t: EKSTarget, namespace: String, serviceAccount: String) throws -> EKSPodIdentityAssociation? {
        let c = t.client, cluster = t.cluster
        let listed = try inv.context.wait { try await c.eks.listPodIdentityAssociations(cluster: cluster, namespace: namespace, serviceAccount: serviceAccount) }
        guard let id = listed.first(where: { $0.namespace == namespace && $0.serviceAccount == serviceAccount })?.associationID else { return nil }
        do {
            return try inv.context.wait { try await c.eks.describePodIdentityAssociation(cluster: cluster, id: id) }
        } catch let e as AWSError where e.code == "ResourceNotFoundException" {
            return nil   // deleted between the list and the describe
        }
    }

    static func associationName(_ t: EKSTarget, _ namespace: String, _ serviceAccount: String) -> String { "\(t.cluster)/\(namespace)/\(serviceAccount)" }

    static func notFound(_ t: EKSTarget, _ namespace: String, _ serviceAccount: String) -> CommandError {
        CommandError("no Pod Identity association for \(namespace)/\(serviceAccount) in cluster \(t.cluster) (\(t.region))", code: "ResourceNotFoundException",
                     hint: "`eks pod-identity list cluster: \(t.cluster)` lists the cluster's associations; pass missing-ok: true to get null instead")
    }

    static let podIdentityCreate = NativeCommand(Sig("eks pod-identity create",
                                                     keywords: [eksCluster, podNamespace, podServiceAccount,
                                                                .init("role-arn", required: true, flags: ["--role-arn"], "the IAM role the service account's pods get"), region],
                                                     summary: "Associate an IAM role with a service account through EKS Pod Identity (idempotent: the same role → unchanged; another role → updated).",
                                                     example: "let a = eks pod-identity create cluster: demo namespace: ml service-account: runner role-arn: $role.Arn",
                                                     isWrite: true)) { inv in
        let t = try eksTarget(inv, for: "eks pod-identity create")
        let namespace = try kubeName(inv, "namespace", label: true)
        let serviceAccount = try kubeName(inv, "service-account", label: false)
        let roleARN = try podRoleARN(inv, t)
        let c = t.client, cluster = t.cluster
        let name = associationName(t, namespace, serviceAccount)
        let effects = Effects.of(inv.context)
        let createLine = "aws eks create-pod-identity-association --cluster-name \(shellQuote(cluster)) --namespace \(shellQuote(namespace))"
            + " --service-account \(shellQuote(serviceAccount)) --role-arn \(shellQuote(roleARN))\(t.regionFlag)"
        if let existing = try findAssociation(inv, t, namespace: namespace, serviceAccount: serviceAccount) {
            if existing.roleARN == roleARN {
                effects.unchanged(kind: podIdentityKind, name: name, explain: [createLine])
                return Value(json: existing.json)
            }
            guard let id = existing.associationID else {
                throw CommandError("eks DescribePodIdentityAssociation: unexpected response: no associationId in the association", code: "UnexpectedResponse")
            }
            if let owner = existing.ownerARN {
                throw CommandError("the Pod Identity association of \(namespace)/\(serviceAccount) in cluster \(cluster) belongs to the add-on \(owner), with the role \(existing.roleARN ?? "(none)")",
                                   code: "OwnedByAddon", hint: "change its role through the add-on (aws eks update-addon … --pod-identity-associations)", argument: .keyword("role-arn"))
            }
            let explain = ["aws eks update-pod-identity-association --cluster-name \(shellQuote(cluster)) --association-id \(shellQuote(id)) --role-arn \(shellQuote(roleARN))\(t.regionFlag)"]
            var planned = existing.json
            if case .object(var o) = planned { o["roleArn"] = .string(roleARN); planned = .object(o) }
            let change = Change(.update, kind: podIdentityKind, name: name, detail: "role \(roleARN)",
                                before: existing.roleARN.map(Value.string), after: .string(roleARN), explain: explain)
            return try effects.write(change, planned: Value(json: planned)) {
                Value(json: try inv.context.wait { try await c.eks.updatePodIdentityAssociation(cluster: cluster, id: id, roleARN: roleARN) }.json)
            }
        }
        let planned: Value = .ordered([("clusterName", .string(cluster)), ("namespace", .string(namespace)), ("serviceAccount", .string(serviceAccount)),
                                       ("roleArn", .string(roleARN)), ("associationArn", .string("(planned)")), ("associationId", .string("(planned)"))])
        let change = Change(.create, kind: podIdentityKind, name: name, detail: "role \(roleARN)", after: planned, explain: [createLine])
        let intent = IAMWriteIntent(operation: "CreatePodIdentityAssociation", creates: true,
                                    done: "the association is there as intended", notDone: "the association is not there")
        return try effects.write(change, planned: planned) {
            try settle(inv, intent, readBack: {
                guard let a = try findAssociation(inv, t, namespace: namespace, serviceAccount: serviceAccount), a.roleARN == roleARN else { return nil }
                return Value(json: a.json)
            }) {
                Value(json: try inv.context.wait {
                    try await c.eks.createPodIdentityAssociation(cluster: cluster, namespace: namespace, serviceAccount: serviceAccount, roleARN: roleARN)
                }.json)
            }
        }
    }

    static let podIdentityGet = NativeCommand(Sig("eks pod-identity get", keywords: [eksCluster, podNamespace, podServiceAccount, region, missingOK],
                                                  summary: "The service account's Pod Identity association as DescribePodIdentityAssociation returns it (roleArn, associationArn, associationId, …).",
                                                  example: "let a = eks pod-identity get cluster: demo namespace: ml service-account: runner missing-ok: true")) { inv in
        let t = try eksTarget(inv, for: "eks pod-identity get")
        let namespace = try inv.args.requiredString(keyword: "namespace")
        let serviceAccount = try inv.args.requiredString(keyword: "service-account")
        if let a = try findAssociation(inv, t, namespace: namespace, serviceAccount: serviceAccount) { return Value(json: a.json) }
        if try inv.args.bool(keyword: "missing-ok") { return .null }
        throw notFound(t, namespace, serviceAccount)
    }

    static let podIdentityList = NativeCommand(Sig("eks pod-identity list",
                                                   keywords: [eksCluster, .init("namespace", flags: ["--namespace"], "only those of this namespace"),
                                                              .init("service-account", flags: ["--service-account"], "only those of this service account"), region],
                                                   summary: "The cluster's Pod Identity associations (all pages), as ListPodIdentityAssociations summarizes them: {clusterName, namespace, serviceAccount, associationArn, associationId[, ownerArn]}.",
                                                   example: "eks pod-identity list cluster: demo namespace: ml | each { $it.serviceAccount }")) { inv in
        let t = try eksTarget(inv, for: "eks pod-identity list")
        let namespace = try inv.args.string(keyword: "namespace")
        let serviceAccount = try inv.args.string(keyword: "service-account")
        let c = t.client, cluster = t.cluster
        let all = try inv.context.wait { try await c.eks.listPodIdentityAssociations(cluster: cluster, namespace: namespace, serviceAccount: serviceAccount) }
        return .list(all.map { Value(json: $0.json) })
    }

    static let podIdentityDelete = NativeCommand(Sig("eks pod-identity delete", keywords: [eksCluster, podNamespace, podServiceAccount, region,
                                                                                          .init("missing-ok", isSwitch: true, flags: ["--missing-ok"], "succeed when it does not exist")],
                                                     summary: "Delete the service account's Pod Identity association.",
                                                     example: "eks pod-identity delete cluster: demo namespace: ml service-account: runner missing-ok: true", isWrite: true)) { inv in
        let t = try eksTarget(inv, for: "eks pod-identity delete")
        let namespace = try inv.args.requiredString(keyword: "namespace")
        let serviceAccount = try inv.args.requiredString(keyword: "service-account")
        let c = t.client, cluster = t.cluster
        let name = associationName(t, namespace, serviceAccount)
        let effects = Effects.of(inv.context)
        guard let existing = try findAssociation(inv, t, namespace: namespace, serviceAccount: serviceAccount), let id = existing.associationID else {
            if try inv.args.bool(keyword: "missing-ok") { effects.unchanged(kind: podIdentityKind, name: name, detail: "absent"); return .null }
            throw notFound(t, namespace, serviceAccount)
        }
        let explain = ["aws eks delete-pod-identity-association --cluster-name \(shellQuote(cluster)) --association-id \(shellQuote(id))\(t.regionFlag)"]
        let change = Change(.delete, kind: podIdentityKind, name: name, before: Value(json: existing.json), explain: explain)
        let intent = IAMWriteIntent(operation: "DeletePodIdentityAssociation", creates: false,
                                    done: "the association is gone", notDone: "the association is still there")
        return try effects.write(change, planned: .null) {
            try settle(inv, intent, readBack: {
                // Gone, or another association (made meanwhile) in its place: this one is gone.
                try findAssociation(inv, t, namespace: namespace, serviceAccount: serviceAccount)?.associationID == id ? nil : .null
            }) {
                _ = try inv.context.wait { try await c.eks.deletePodIdentityAssociation(cluster: cluster, id: id) }
                return .null
            }
        }
    }

    static let addonGet = NativeCommand(Sig("eks addon get", keywords: [eksCluster, .init("name", required: true, flags: ["--name", "--addon-name"], "the add-on, e.g. eks-pod-identity-agent"),
                                                                         region, missingOK],
                                            summary: "The cluster's add-on as DescribeAddon returns it (status: ACTIVE, DEGRADED, …; health.issues).",
                                            example: "let agent = eks addon get cluster: demo name: eks-pod-identity-agent missing-ok: true")) { inv in
        let t = try eksTarget(inv, for: "eks addon get")
        let name = try inv.args.requiredString(keyword: "name")
        let c = t.client, cluster = t.cluster
        do {
            return Value(json: try inv.context.wait { try await c.eks.describeAddon(cluster: cluster, name: name) }.json)
        } catch var e as AWSError where e.code == "ResourceNotFoundException" {
            // The cluster was just described: it is the add-on that is not there.
            if try inv.args.bool(keyword: "missing-ok") { return .null }
            e.hint = "the add-on \(name) is not installed on cluster \(cluster) (\(t.region)): `aws eks create-addon --cluster-name \(shellQuote(cluster)) --addon-name \(shellQuote(name))\(t.regionFlag)` installs it"
                + (name == "eks-pod-identity-agent" ? " (without it, pods get no Pod Identity credentials)" : "")
            throw e
        }
    }
}
