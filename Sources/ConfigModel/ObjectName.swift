/// Kubernetes object name rules, as the API server applies them to custom resources
/// (`k8s.io/apimachinery/pkg/util/validation`: `IsDNS1123Subdomain`, `IsDNS1123Label`).
public enum ObjectName {
    /// The namespace of an object that names none.
    public static let defaultNamespace = "default"

    /// `name` in the `default` namespace, `namespace/name` elsewhere. Unique, since neither a name
    /// nor a namespace can hold a `/`; used as the key of entries, status rows and log files.
    public static func qualified(namespace: String, name: String) -> String {
        namespace == defaultNamespace ? name : "\(namespace)/\(name)"
    }

    /// RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters (namespaces).
    public static func isDNS1123Label(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 63 else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 45 }
    }

    /// RFC 1123 subdomain: labels joined by `.`, at most 253 characters (names of custom resources).
    public static func isDNS1123Subdomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty else { return false }
            func alnum(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
            return alnum(bytes.first!) && alnum(bytes.last!) && bytes.allSatisfy { alnum($0) || $0 == 45 }
        }
    }
}
