/// What a field means on one node: the three classes of LLMKube `v1alpha1` spec fields.
///
/// The class of every field is written once, in `SpecFields` (the one table); the loader, the
/// warnings, the JSON Schema and README's field tables all read it from there.
public enum FieldClass: String, Sendable, Hashable, Codable, CaseIterable {
    /// Changes the runtime's argv or what the agent does on this node (`contextSize`, `cacheTypeK`,
    /// `suspend`, `endpoint.port`, ...). A node field the entry's runtime has no setting for gets an
    /// `IgnoredField` warning too.
    case node
    /// Only a cluster acts on it (scheduling, pods, images, in-cluster downloads, other runtimes'
    /// settings): accepted, type-checked, and listed in one `IgnoredField` warning per entry.
    case cluster
    /// Descriptive only (`quantization`, `hardware.gpu.vendor`, ...): accepted silently.
    case informational
}

/// The type of a spec field, with the bounds the LLMKube CRD (`config/crd/bases/`) gives it.
///
/// Checking follows the API server: a value of another type is an error (`"8080"` is not an integer),
/// integers are bounded by their Go type (`int32`, `int64`) unless the CRD narrows them, strings may
/// carry a pattern (an ECMA-262 regular expression, found anywhere in the value as JSON Schema does).
public indirect enum FieldType: Sendable {
    /// A string; `pattern`, `minLength` and `maxLength` as the CRD states them; `expected` says in
    /// words what the pattern wants, for messages.
    case string(pattern: String? = nil, minLength: Int? = nil, maxLength: Int? = nil, expected: String? = nil)
    /// An integer within `range` (the CRD's minimum/maximum, else the Go type's range).
    case integer(ClosedRange<Int>)
    /// A number (YAML int or float) within `range` when given.
    case number(ClosedRange<Double>? = nil)
    /// `true` or `false`.
    case boolean
    /// One of `values` (case-sensitive); `noun` names the vocabulary in messages ("format", "runtime").
    case enumeration([String], noun: String = "value")
    /// One of these integers (`turboQuantBits`: 3, 6 or 8).
    case integerEnumeration([Int])
    /// A list of items of one type; `maxItems` when the CRD bounds it.
    case list(FieldType, maxItems: Int? = nil)
    /// A mapping with exactly these fields; unknown keys are errors.
    case object([SpecField])
    /// A mapping of string to string (`nodeSelector`, `podLabels`, ...).
    case stringMap
    /// A core Kubernetes type this agent never acts on (`Toleration`, `Affinity`, `Probe`, ...), named
    /// for messages: checked to be a mapping, its content is the API server's business.
    case kubernetes(String)
}

/// One field of a spec (or of an object inside it).
public struct SpecField: Sendable {
    /// The YAML key, as the CRD spells it.
    public var name: String
    /// Its type and bounds.
    public var type: FieldType
    /// What it means on one node. Inside an object, a child's class wins over its parent's.
    public var fieldClass: FieldClass
    /// True when the CRD requires it.
    public var required: Bool
    /// The CRD's default, as YAML text, when it has one (documentation and schema only: the loader
    /// applies its own defaults where a node needs one).
    public var defaultValue: String?
    /// One line for README and the schema: what it does on this node.
    public var doc: String

    /// Creates a field.
    public init(_ name: String, _ type: FieldType, _ fieldClass: FieldClass, required: Bool = false, default defaultValue: String? = nil, _ doc: String = "") {
        self.name = name
        self.type = type
        self.fieldClass = fieldClass
        self.required = required
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

extension FieldType {
    /// Go `int32`.
    static var int32: FieldType { .integer(Int(Int32.min)...Int(Int32.max)) }
    /// Go `int64`.
    static var int64: FieldType { .integer(Int(Int64.min)...Int(Int64.max)) }
    /// `int32` with a CRD minimum (and the type's maximum).
    static func int32(min: Int, max: Int = Int(Int32.max)) -> FieldType { .integer(min...max) }
    /// A plain string.
    static var text: FieldType { .string() }
    /// A list of strings.
    static var strings: FieldType { .list(.string()) }
}
