import OrderedCollections
import SGKData

/// Fills the defaults of list-map key fields that server-side apply in Kubernetes 1.20 requires
/// (it rejects an associative list entry that omits a key field, e.g. "associative list with keys
/// has an element that omits key field \"protocol\""): `protocol: TCP` on Service `spec.ports`,
/// and on container, init-container and ephemeral-container `ports` of every pod template.
public enum ListMapDefaults {
    /// The object with key defaults filled in (unchanged when nothing applies).
    public static func fill(_ object: JSON) -> JSON {
        guard case .object(var o) = object, let kind = o["kind"]?.stringValue else { return object }
        let group = splitAPIVersion(o["apiVersion"]?.stringValue ?? "").group
        guard ["", "apps", "batch", "extensions"].contains(group) else { return object }
        switch kind {
        case "Service":
            o["spec"] = update(o["spec"], "ports") { fillProtocol($0, key: "port") }
        case "Pod":
            o["spec"] = podSpec(o["spec"])
        case "PodTemplate":
            o["template"] = update(o["template"], "spec", podSpec)
        case "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController":
            o["spec"] = update(o["spec"], "template") { update($0, "spec", podSpec) }
        case "CronJob":
            o["spec"] = update(o["spec"], "jobTemplate") { jt in
                update(jt, "spec") { js in update(js, "template") { update($0, "spec", podSpec) } }
            }
        default:
            return object
        }
        return .object(o)
    }

    static func podSpec(_ spec: JSON?) -> JSON? {
        var s = spec
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            s = update(s, list) { containers in
                guard case .array(let cs)? = containers else { return containers }
                return .array(cs.map { c in update(c, "ports") { fillProtocol($0, key: "containerPort") } ?? c })
            }
        }
        return s
    }

    static func fillProtocol(_ ports: JSON?, key: String) -> JSON? {
        guard case .array(let ps)? = ports else { return ports }
        return .array(ps.map { p in
            guard case .object(var po) = p, po["protocol"] == nil else { return p }
            po["protocol"] = .string("TCP")
            return .object(po)
        })
    }

    /// Applies `f` to `parent[key]` when parent is an object; returns parent unchanged otherwise.
    static func update(_ parent: JSON?, _ key: String, _ f: (JSON?) -> JSON?) -> JSON? {
        guard case .object(var o)? = parent else { return parent }
        guard o[key] != nil else { return parent }
        o[key] = f(o[key])
        return .object(o)
    }
}
