import Foundation
import OrderedCollections
import SGKData
import SGKLanguage

/// Lines pasted from the AWS and eksctl documentation, run natively: one table of forms maps
/// each CLI operation's flags onto an sgk primitive's arguments, and its value onto the CLI's
/// output (`{"Role": …}` for `aws iam get-role`), then `--query` and `--output text|json` as the
/// aws CLI applies them. Every write is the primitive's, so dry run, explain and the journal hold.
public enum ShellForms {
    /// Registers the `aws` and `eksctl` heads with the language's shell-line front end.
    public static func register() {
        // `aws whoami|region|profile|partition` are sgk's own commands.
        ShellLine.register(head: "aws", except: ["whoami", "region", "profile", "partition"], handler: runAWS)
        ShellLine.register(head: "eksctl", handler: runEksctl)
    }

    // MARK: the table

    /// Where a CLI flag goes.
    enum Target: Sendable {
        case positional
        case keyword(String)
    }

    /// How a flag's value is read.
    enum Kind: Sendable { case text, document, repeated }

    struct Flag: Sendable {
        var name: String
        var target: Target
        var kind: Kind = .text
        var required = true
    }

    enum Shape: Sendable {
        /// The CLI prints nothing.
        case none
        /// The value under a key (`{"Role": …}`), with its keys in the CLI's order.
        case wrap(String, order: [String]?)
        case custom(@Sendable (Value) -> Value)
    }

    struct Form: Sendable {
        var operation: String
        var command: String
        var flags: [Flag]
        var shape: Shape
        var fixed: [(String, Value)] = []
    }

    static let roleOrder = ["Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument", "Description", "MaxSessionDuration", "Tags", "RoleLastUsed"]
    static let policyOrder = ["PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "AttachmentCount", "PermissionsBoundaryUsageCount", "IsAttachable", "Description", "CreateDate", "UpdateDate", "Tags"]
    static let roleName = Flag(name: "--role-name", target: .positional)

    static let awsForms: [Form] = [
        Form(operation: "sts get-caller-identity", command: "aws whoami", flags: [], shape: .wrap("", order: ["UserId", "Account", "Arn"])),
        Form(operation: "eks describe-cluster", command: "eks describe-cluster", flags: [Flag(name: "--name", target: .positional)], shape: .wrap("cluster", order: nil)),
        Form(operation: "eks list-clusters", command: "eks clusters", flags: [], shape: .wrap("clusters", order: nil)),
        Form(operation: "eks update-kubeconfig", command: "eks kubeconfig", flags: [Flag(name: "--name", target: .positional), Flag(name: "--alias", target: .keyword("alias"), required: false)],
             shape: .custom { v in .string("Updated context \(v["current-context"]?.text ?? "") in the kubeconfig\n") }, fixed: [("write", .bool(true))]),
        Form(operation: "eks create-pod-identity-association", command: "eks pod-identity create",
             flags: [Flag(name: "--cluster-name", target: .keyword("cluster")), Flag(name: "--namespace", target: .keyword("namespace")),
                     Flag(name: "--service-account", target: .keyword("service-account")), Flag(name: "--role-arn", target: .keyword("role-arn"))],
             shape: .wrap("association", order: nil)),
        Form(operation: "eks list-pod-identity-associations", command: "eks pod-identity list",
             flags: [Flag(name: "--cluster-name", target: .keyword("cluster")), Flag(name: "--namespace", target: .keyword("namespace"), required: false),
                     Flag(name: "--service-account", target: .keyword("service-account"), required: false)],
             shape: .wrap("associations", order: nil)),
        Form(operation: "eks describe-addon", command: "eks addon get",
             flags: [Flag(name: "--cluster-name", target: .keyword("cluster")), Flag(name: "--addon-name", target: .keyword("name"))], shape: .wrap("addon", order: nil)),
        Form(operation: "iam create-role", command: "role create",
             flags: [roleName, Flag(name: "--assume-role-policy-document", target: .keyword("trust"), kind: .document),
                     Flag(name: "--description", target: .keyword("description"), required: false)], shape: .wrap("Role", order: roleOrder)),
        Form(operation: "iam get-role", command: "role get", flags: [roleName], shape: .wrap("Role", order: roleOrder)),
        Form(operation: "iam list-roles", command: "role list", flags: [Flag(name: "--path-prefix", target: .keyword("path-prefix"), required: false)],
             shape: .custom { v in .ordered([("Roles", .list((v.listValue ?? []).map { ordered($0, roleOrder) }))]) }),
        Form(operation: "iam delete-role", command: "role delete", flags: [roleName], shape: .none),
        Form(operation: "iam attach-role-policy", command: "role attach-policy", flags: [roleName, Flag(name: "--policy-arn", target: .keyword("policy"))], shape: .none),
        Form(operation: "iam detach-role-policy", command: "role detach-policy", flags: [roleName, Flag(name: "--policy-arn", target: .keyword("policy"))], shape: .none),
        Form(operation: "iam list-attached-role-policies", command: "role policies", flags: [roleName],
             shape: .custom { v in .ordered([("AttachedPolicies", v["managed"] ?? .list([]))]) }),
        Form(operation: "iam list-role-policies", command: "role policies", flags: [roleName],
             shape: .custom { v in .ordered([("PolicyNames", v["inline"] ?? .list([]))]) }),
        Form(operation: "iam update-assume-role-policy", command: "role update-trust",
             flags: [roleName, Flag(name: "--policy-document", target: .keyword("trust"), kind: .document)], shape: .none),
        Form(operation: "iam put-role-policy", command: "role put-policy",
             flags: [roleName, Flag(name: "--policy-name", target: .keyword("policy-name")), Flag(name: "--policy-document", target: .keyword("document"), kind: .document)], shape: .none),
        Form(operation: "iam get-role-policy", command: "role get-policy",
             flags: [roleName, Flag(name: "--policy-name", target: .keyword("policy-name"))], shape: .wrap("", order: ["RoleName", "PolicyName", "PolicyDocument"])),
        Form(operation: "iam create-policy", command: "policy create",
             flags: [Flag(name: "--policy-name", target: .positional), Flag(name: "--policy-document", target: .keyword("document"), kind: .document),
                     Flag(name: "--description", target: .keyword("description"), required: false)], shape: .wrap("Policy", order: policyOrder)),
        Form(operation: "iam get-policy", command: "policy get", flags: [Flag(name: "--policy-arn", target: .positional)], shape: .wrap("Policy", order: policyOrder)),
        Form(operation: "iam delete-policy", command: "policy delete", flags: [Flag(name: "--policy-arn", target: .positional)], shape: .none),
        Form(operation: "iam list-open-id-connect-providers", command: "oidc providers", flags: [],
             shape: .custom { v in .ordered([("OpenIDConnectProviderList", .list((v.listValue ?? []).map { .ordered([("Arn", $0)]) }))]) }),
        Form(operation: "iam delete-open-id-connect-provider", command: "oidc delete",
             flags: [Flag(name: "--open-id-connect-provider-arn", target: .positional)], shape: .none),
    ]

    /// The keys of a map in the CLI's order (others after, in their order), nulls left out.
    static func ordered(_ v: Value, _ order: [String]?) -> Value {
        guard case .map(var m) = v else { return v }
        // IAM leaves Tags out when there are none, and so does the CLI's output.
        if case .list(let t)? = m["Tags"], t.isEmpty { m["Tags"] = nil }
        var out = OrderedDictionary<String, Value>()
        for k in order ?? [] { if let x = m[k], !x.isNull { out[k] = x } }
        for (k, x) in m where out[k] == nil && !x.isNull && (order == nil || !["Cluster", "Document", "Issuer"].contains(k)) { out[k] = x }
        return .map(out)
    }

    // MARK: aws

    /// The words after the operation: `--flag value`, `--flag=value`.
    static func flags(_ words: ArraySlice<String>, line: String, switches: Set<String> = []) throws -> [(String, String?)] {
        var out: [(String, String?)] = []
        var i = words.startIndex
        while i < words.endIndex {
            let w = words[i]
            guard w.hasPrefix("-") else {
                throw CommandError("unexpected argument '\(w)'", hint: "the documented form takes --flag value pairs")
            }
            if let eq = w.firstIndex(of: "="), w.hasPrefix("--") {
                out.append((String(w[..<eq]), String(w[w.index(after: eq)...])))
            } else if switches.contains(w) || i + 1 == words.endIndex || (words[i + 1].hasPrefix("--") && words[i + 1].count > 2) {
                out.append((w, nil))
            } else {
                out.append((w, words[i + 1]))
                i += 1
            }
            i += 1
        }
        return out
    }

    /// `file://PATH` (relative to the current directory) → the file's text; `fileb://` alike.
    static func fileArgument(_ v: String, flag: String) throws -> String {
        for scheme in ["file://", "fileb://"] where v.hasPrefix(scheme) {
            var path = String(v.dropFirst(scheme.count))
            if path.hasPrefix("~/") { path = NSHomeDirectory() + path.dropFirst(1) }
            if !path.hasPrefix("/") { path = FileManager.default.currentDirectoryPath + "/" + path }
            guard let d = FileManager.default.contents(atPath: path) else {
                throw CommandError("\(flag) \(v): cannot read \(path)", hint: "file:// paths are relative to the current directory (\(FileManager.default.currentDirectoryPath))")
            }
            return String(decoding: d, as: UTF8.self)
        }
        return v
    }

    static let awsServices = ["iam", "eks", "sts"]

    static func runAWS(_ words: [String], _ inv: Invocation) throws -> ShellLine.Output {
        guard words.count >= 3 else {
            throw CommandError("aws: give a service and an operation", hint: "e.g. aws iam get-role --role-name R (sgk runs aws iam, eks and sts lines)")
        }
        let operation = words[1] + " " + words[2]
        let line = "aws \(operation)"
        guard let form = awsForms.first(where: { $0.operation == operation }) else {
            if awsServices.contains(words[1]) {
                let known = awsForms.filter { $0.operation.hasPrefix(words[1] + " ") }.map { "aws " + $0.operation }
                throw CommandError("sgk does not run '\(line)'", code: "UnsupportedOperation",
                                   hint: "the aws \(words[1]) lines sgk runs natively: \(known.joined(separator: ", ")); `help` lists sgk's own commands")
            }
            throw CommandError("sgk does not run 'aws \(words[1])' lines", code: "UnsupportedOperation",
                               hint: "sgk runs pasted aws iam, eks and sts lines (\(awsForms.count) operations); see docs/COMMANDS.md, \"Pasted lines\"")
        }
        var args = Arguments()
        var hint = [form.command]
        var query: String?
        var output = inv.context.environment["AWS_DEFAULT_OUTPUT"] ?? "json"
        var given = Set<String>()
        for (f, v) in try flags(words[3...], line: line, switches: ["--no-cli-pager", "--no-paginate"]) {
            func value() throws -> String {
                guard let v else { throw CommandError("\(f) needs a value", hint: "\(f) VALUE") }
                return v
            }
            switch f {
            case "--region": let r = try value(); args.keywords["region"] = .string(r); hint.append("region: " + ShellWords.source([r]))
            case "--query": query = try value()
            case "--output": output = try value()
            case "--no-cli-pager", "--no-paginate": continue    // sgk pages fully and never starts a pager
            default:
                guard let flag = form.flags.first(where: { $0.name == f }) else {
                    let known = form.flags.map(\.name) + ["--region", "--query", "--output"]
                    throw CommandError("sgk does not support the flag \(f)", code: "UnsupportedFlag",
                                       hint: "the flags sgk takes for \(line): \(known.joined(separator: " "))")
                }
                given.insert(f)
                let raw = try value()
                let text = flag.kind == .document ? try fileArgument(raw, flag: f) : raw
                let shown = raw.hasPrefix("file://") ? "(read \(ShellWords.source([String(raw.dropFirst(7))])))" : ShellWords.source([text])
                switch flag.target {
                case .positional: args.positional.append(.string(text)); hint.insert(shown, at: 1)
                case .keyword(let k): args.keywords[k] = .string(text); hint.append("\(k): \(shown)")
                }
            }
        }
        for f in form.flags where f.required && !given.contains(f.name) {
            throw CommandError("missing \(f.name)", hint: "aws \(operation) " + form.flags.filter(\.required).map { "\($0.name) VALUE" }.joined(separator: " "))
        }
        for (k, v) in form.fixed { args.keywords[k] = v; hint.append("\(k): \(v.text)") }
        guard ["json", "text"].contains(output) else {
            throw CommandError("--output \(output) is not supported", code: "UnsupportedFlag",
                               hint: output == "table" ? "sgk prints --output json and text as the aws CLI does; for a table in sgk: \(hint.joined(separator: " ")) -o table" : "--output json or text")
        }
        let compiled = try query.map { try JMESQuery.compile($0, argument: .keyword("query")) }
        // The sgk command gives the value the CLI wraps (`role get` is the CLI's `Role`): the
        // hint's query reads it without the wrapper; a reshaped value's query is left out.
        if let query {
            switch form.shape {
            case .wrap(let key, _) where key.isEmpty: hint.append("query: " + ShellWords.source([query]))
            case .wrap(let key, _) where query.hasPrefix(key + ".") && query.count > key.count + 1:
                hint.append("query: " + ShellWords.source([String(query.dropFirst(key.count + 1))]))
            default: break
            }
        }
        inv.context.errors.write("hint: \(hint.joined(separator: " "))\n")
        let value = try inv.run(form.command, args)
        var shaped: Value
        switch form.shape {
        case .none: shaped = Value.map(OrderedDictionary<String, Value>())
        case .wrap(let key, let order): shaped = key.isEmpty ? ordered(value, order) : .ordered([(key, ordered(value, order))])
        case .custom(let f): shaped = f(value)
        }
        if case .string(let s) = shaped, query == nil { return .init(text: s) }
        if let compiled { shaped = try JMESQuery.apply(compiled, to: shaped, argument: .keyword("query")) }
        if query == nil, case .map(let m) = shaped, m.isEmpty { return .init(text: nil) }
        return .init(text: output == "text" ? AWSCLIText.text(shaped) : AWSCLIText.json(shaped) + "\n")
    }

    // MARK: eksctl

    static func runEksctl(_ words: [String], _ inv: Invocation) throws -> ShellLine.Output {
        let op = words.dropFirst().prefix(2).joined(separator: " ")
        switch op {
        case "utils associate-iam-oidc-provider": return try associate(words, inv)
        case "create iamserviceaccount": return try iamServiceAccount(words, inv)
        default:
            throw CommandError("sgk does not run 'eksctl \(op)'", code: "UnsupportedOperation",
                               hint: "the eksctl lines sgk runs natively: eksctl utils associate-iam-oidc-provider, eksctl create iamserviceaccount")
        }
    }

    static func eksctlFlags(_ words: [String], known: Set<String>, switches: Set<String>, line: String) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for (f, v) in try flags(words[3...], line: line, switches: switches) {
            guard known.contains(f) || switches.contains(f) else {
                throw CommandError("sgk does not support the flag \(f)", code: "UnsupportedFlag",
                                   hint: "the flags sgk takes for \(line): \(known.union(switches).sorted().joined(separator: " "))")
            }
            out[f, default: []].append(v ?? "true")
        }
        return out
    }

    static func associate(_ words: [String], _ inv: Invocation) throws -> ShellLine.Output {
        let line = "eksctl utils associate-iam-oidc-provider"
        let f = try eksctlFlags(words, known: ["--cluster", "--region"], switches: ["--approve"], line: line)
        guard let cluster = f["--cluster"]?.last else { throw CommandError("missing --cluster", hint: "\(line) --cluster NAME --approve") }
        var args = Arguments(keywords: ["cluster": .string(cluster)])
        var hint = "oidc associate cluster: \(ShellWords.source([cluster]))"
        if let r = f["--region"]?.last { args.keywords["region"] = .string(r); hint += " region: \(ShellWords.source([r]))" }
        inv.context.errors.write("hint: \(hint)\n")
        let region = try AWSClients.of(inv.context).requireRegion(args.keywords["region"]?.text, for: line)
        let existing = try inv.run("oidc provider", args)
        guard f["--approve"] != nil else {
            inv.context.errors.write(existing.isNull
                ? "[ℹ]  (plan) would create IAM Open ID Connect provider for cluster \"\(cluster)\" in \"\(region)\"\n[!]  no changes were applied, run again with '--approve' to apply the changes\n"
                : "[ℹ]  IAM Open ID Connect provider is already associated with cluster \"\(cluster)\" in \"\(region)\"\n")
            return .init(text: nil)
        }
        if !existing.isNull {
            inv.context.errors.write("[ℹ]  IAM Open ID Connect provider is already associated with cluster \"\(cluster)\" in \"\(region)\"\n")
            return .init(text: nil)
        }
        inv.context.errors.write("[ℹ]  will create IAM Open ID Connect provider for cluster \"\(cluster)\" in \"\(region)\"\n")
        _ = try inv.run("oidc associate", args)
        inv.context.errors.write("[✔]  created IAM Open ID Connect provider for cluster \"\(cluster)\" in \"\(region)\"\n")
        return .init(text: nil)
    }

    static func iamServiceAccount(_ words: [String], _ inv: Invocation) throws -> ShellLine.Output {
        let line = "eksctl create iamserviceaccount"
        let f = try eksctlFlags(words, known: ["--cluster", "--region", "--namespace", "--name", "--attach-policy-arn", "--role-name"],
                                switches: ["--approve", "--override-existing-serviceaccounts", "--role-only"], line: line)
        guard let cluster = f["--cluster"]?.last, let name = f["--name"]?.last else {
            throw CommandError("missing \(f["--cluster"] == nil ? "--cluster" : "--name")",
                               hint: "\(line) --cluster C --namespace NS --name SA --attach-policy-arn ARN --approve")
        }
        let namespace = f["--namespace"]?.last ?? "default"
        let policies = (f["--attach-policy-arn"] ?? []).flatMap { $0.split(separator: ",").map(String.init) }
        guard !policies.isEmpty else { throw CommandError("give --attach-policy-arn ARN", hint: "sgk attaches managed policies by ARN") }
        let roleName = f["--role-name"]?.last ?? String("eksctl-\(cluster)-addon-iamserviceaccount-\(namespace)-\(name)".prefix(64))
        var regionArgs: [String: Value] = [:]
        if let r = f["--region"]?.last { regionArgs["region"] = .string(r) }
        let regionHint = f["--region"]?.last.map { " region: \(ShellWords.source([$0]))" } ?? ""
        inv.context.errors.write("hint: let p = oidc provider cluster: \(ShellWords.source([cluster]))\(regionHint); "
            + "role create \(ShellWords.source([roleName])) trust: (irsa trust provider: $p namespace: \(ShellWords.source([namespace])) service-account: \(ShellWords.source([name]))); "
            + policies.map { "role attach-policy \(ShellWords.source([roleName])) policy: \(ShellWords.source([$0]))" }.joined(separator: "; ")
            + (f["--role-only"] == nil ? "; kubectl apply (a ServiceAccount annotated eks.amazonaws.com/role-arn)" : "") + "\n")
        guard f["--approve"] != nil else {
            inv.context.errors.write("[ℹ]  (plan) would create IAM role \(roleName) for serviceaccount \"\(namespace)/\(name)\"\n[!]  no changes were applied, run again with '--approve' to apply the changes\n")
            return .init(text: nil)
        }
        let provider = try inv.run("oidc provider", Arguments(keywords: regionArgs.merging(["cluster": .string(cluster)]) { a, _ in a }))
        guard let providerARN = provider["Arn"]?.stringValue, let url = provider["Url"]?.stringValue else {
            throw CommandError("unable to create iamserviceaccount(s) without IAM OIDC provider enabled", code: "NoOIDCProvider",
                               hint: "eksctl utils associate-iam-oidc-provider --cluster \(cluster) --approve")
        }
        let host = url.hasPrefix("https://") ? String(url.dropFirst(8)) : url
        let trust: Value = .ordered([
            ("Version", .string("2012-10-17")),
            ("Statement", .list([.ordered([
                ("Effect", .string("Allow")), ("Principal", .ordered([("Federated", .string(providerARN))])),
                ("Action", .string("sts:AssumeRoleWithWebIdentity")),
                ("Condition", .ordered([("StringEquals", .ordered([("\(host):aud", .string("sts.amazonaws.com")),
                                                                   ("\(host):sub", .string("system:serviceaccount:\(namespace):\(name)"))]))])),
            ])])),
        ])
        inv.context.errors.write("[ℹ]  creating IAM role \(roleName) for serviceaccount \"\(namespace)/\(name)\"\n")
        let role = try inv.run("role create", Arguments(positional: [.string(roleName)], keywords: regionArgs.merging(["trust": trust]) { a, _ in a }))
        for p in policies {
            _ = try inv.run("role attach-policy", Arguments(positional: [.string(roleName)], keywords: regionArgs.merging(["policy": .string(p)]) { a, _ in a }))
        }
        guard f["--role-only"] == nil else { return .init(text: nil) }
        let arn = role["Arn"]?.stringValue ?? ""
        let docs: Value = .list([
            .ordered([("apiVersion", .string("v1")), ("kind", .string("Namespace")), ("metadata", .ordered([("name", .string(namespace))]))]),
            .ordered([("apiVersion", .string("v1")), ("kind", .string("ServiceAccount")),
                      ("metadata", .ordered([("name", .string(name)), ("namespace", .string(namespace)),
                                             ("annotations", .ordered([("eks.amazonaws.com/role-arn", .string(arn))]))]))]),
        ])
        _ = try inv.run("kubectl apply", Arguments(input: docs))
        inv.context.errors.write("[ℹ]  created serviceaccount \"\(namespace)/\(name)\" annotated with role \(arn)\n")
        return .init(text: nil)
    }
}

/// The aws CLI's `--output json` and `--output text`.
enum AWSCLIText {
    /// Python's `str()` of a scalar, as the text output prints it.
    static func scalar(_ v: Value) -> String {
        switch v {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        default: return v.text
        }
    }

    static func isScalar(_ v: Value) -> Bool {
        switch v { case .list, .map: return false; default: return true }
    }

    static func text(_ v: Value) -> String {
        var out = ""
        format(v, identifier: nil, scalarKeys: nil, &out)
        return out
    }

    static func format(_ v: Value, identifier: String?, scalarKeys: [String]?, _ out: inout String) {
        switch v {
        case .map(let m):
            var scalars: [String] = []
            var rest: [(String, Value)] = []
            if let scalarKeys {
                scalars = scalarKeys.map { m[$0].map(scalar) ?? "" }
                for k in Set(m.keys).subtracting(scalarKeys).sorted() { if let x = m[k] { rest.append((k, x)) } }
            } else {
                for k in m.keys.sorted() {
                    guard let x = m[k] else { continue }
                    if isScalar(x) { scalars.append(scalar(x)) } else { rest.append((k, x)) }
                }
            }
            if !scalars.isEmpty {
                if let identifier { scalars.insert(identifier.uppercased(), at: 0) }
                out += scalars.joined(separator: "\t") + "\n"
            }
            for (k, x) in rest { format(x, identifier: k, scalarKeys: nil, &out) }
        case .list(let l):
            if l.isEmpty { return }
            if l.contains(where: { if case .map = $0 { return true }; return false }) {
                var keys = Set<String>()
                for case .map(let m) in l { for (k, x) in m where isScalar(x) { keys.insert(k) } }
                for x in l { format(x, identifier: identifier, scalarKeys: keys.sorted(), &out) }
            } else if l.contains(where: { if case .list = $0 { return true }; return false }) {
                let scalars = l.filter(isScalar)
                if !scalars.isEmpty { scalarList(scalars, identifier, &out) }
                for x in l where !isScalar(x) { format(x, identifier: identifier, scalarKeys: nil, &out) }
            } else {
                scalarList(l, identifier, &out)
            }
        default:
            out += scalar(v) + "\n"
        }
    }

    static func scalarList(_ l: [Value], _ identifier: String?, _ out: inout String) {
        if let identifier {
            for x in l { out += "\(identifier.uppercased())\t\(scalar(x))\n" }
        } else {
            out += l.map(scalar).joined(separator: "\t") + "\n"
        }
    }

    /// Python's `json.dumps(v, indent=4, ensure_ascii=False)`.
    static func json(_ v: Value, indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent + 4), end = String(repeating: " ", count: indent)
        switch v {
        case .list(let l):
            if l.isEmpty { return "[]" }
            return "[\n" + l.map { pad + json($0, indent: indent + 4) }.joined(separator: ",\n") + "\n" + end + "]"
        case .map(let m):
            if m.isEmpty { return "{}" }
            return "{\n" + m.map { pad + string($0.key) + ": " + json($0.value, indent: indent + 4) }.joined(separator: ",\n") + "\n" + end + "}"
        case .string(let s): return string(s)
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        default: return JSONCodec.serialize(v.json)
        }
    }

    /// A JSON string as Python's json.dumps writes it with ensure_ascii=False: SGKData's writer
    /// escapes exactly the same characters.
    static func string(_ s: String) -> String { JSONCodec.serialize(.string(s)) }
}
